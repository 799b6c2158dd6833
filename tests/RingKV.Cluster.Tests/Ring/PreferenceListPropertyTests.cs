using System;
using System.Collections.Generic;
using System.Linq;
using CsCheck;
using RingKV.Cluster.Ring;
using RingKV.Core.Hashing;
using Xunit;
using static RingKV.Cluster.Tests.Ring.RingMeasures;

namespace RingKV.Cluster.Tests.Ring;

/// <summary>Random rings (1 to 12 nodes, 1 to 3 data centers, 1 to 4 racks, tokens often at the edges) against a plain model of the placement rule.</summary>
public sealed class PreferenceListPropertyTests
{
    private static readonly string[] DataCenterNames = ["dc0", "dc1", "dc2"];

    private static readonly Gen<ulong> GenToken = Gen.OneOf(Gen.ULong, Gen.ULong[0, 3], Gen.ULong[ulong.MaxValue - 3, ulong.MaxValue]);

    private static readonly Gen<(int DataCenter, int Rack, int Capacity, ulong[] Tokens)> GenNode =
        Gen.Select(Gen.Int[0, 2], Gen.Int[0, 3], Gen.Int[1, 3], GenToken.Array[1, 5]);

    private static readonly Gen<Case> GenCase =
        Gen.Select(GenNode.Array[1, 12], Gen.Int[0, 4].Array[3], Gen.Int[0, 2], GenToken.Array[1, 12], Gen.Bool.Array[12])
            .Select(t => Case.Build(t.Item1, t.Item2, t.Item3, t.Item4, t.Item5));

    [Fact]
    public void For_RandomRings_MatchesTheModelAndKeepsThePlacementRules() =>
        GenCase.Sample(c =>
        {
            var ring = c.Ring;
            var placement = Placement.Create(ring, c.Replication);
            foreach (var probe in c.Probes)
            {
                var token = new Token(probe);
                var expected = Model(ring, token, c.Replication);
                var list = PreferenceList.For(ring, token, c.Replication);
                Assert.Equal(expected, list);
                Assert.Equal(expected, placement.For(token).ToArray());
                CheckRules(ring, token, c.Replication, list);
            }
        }, iter: 400);

    [Fact]
    public void Sloppy_RandomRingsAndHealth_StandInsAreUsableDistinctAndFromTheDownReplicasDataCenter() =>
        GenCase.Sample(c =>
        {
            var ring = c.Ring;
            var placement = Placement.Create(ring, c.Replication);
            var usable = c.Usable[..ring.MemberCount];
            var destination = new SloppyReplica[placement.ReplicaCount];
            foreach (var probe in c.Probes)
            {
                var token = new Token(probe);
                var natural = placement.For(token).ToArray();
                var count = PreferenceList.Sloppy(placement, token, usable, destination);
                var sloppy = destination.AsSpan(0, count).ToArray();
                Assert.Equal(sloppy.Length, sloppy.Select(r => r.Node).Distinct().Count());
                var standIns = new HashSet<NodeId>();
                foreach (var replica in sloppy)
                {
                    Assert.True(usable[ring.IndexOf(replica.Node)], $"{replica.Node} is down but listed");
                    if (replica.IsStandIn)
                    {
                        Assert.DoesNotContain(replica.Node, natural);
                        Assert.False(usable[ring.IndexOf(replica.IntendedFor)]);
                        Assert.Equal(DataCenterOf(ring, replica.IntendedFor), DataCenterOf(ring, replica.Node));
                        standIns.Add(replica.Node);
                    }
                }

                // Natural replicas in order: the usable ones themselves, the down ones through their stand-ins.
                Assert.Equal(natural.Where(n => usable[ring.IndexOf(n)] || sloppy.Any(r => r.IntendedFor == n)), sloppy.Select(r => r.IntendedFor));

                // A down replica goes without a stand-in only when its data center has no usable node left to offer.
                foreach (var missing in natural.Where(n => !usable[ring.IndexOf(n)] && !sloppy.Any(r => r.IntendedFor == n)))
                {
                    var spare = ring.Members.Where(m => m.DataCenter == DataCenterOf(ring, missing) && usable[ring.IndexOf(m.Id)]
                        && !natural.Contains(m.Id) && !standIns.Contains(m.Id));
                    Assert.Empty(spare);
                }
            }
        }, iter: 400);

    private static string DataCenterOf(TokenRing ring, NodeId node) => ring.MemberAt(ring.IndexOf(node)).DataCenter;

    private static void CheckRules(TokenRing ring, Token token, ReplicationSettings replication, NodeId[] list)
    {
        Assert.Equal(list.Length, list.Distinct().Count());
        var members = list.Select(n => ring.MemberAt(ring.IndexOf(n))).ToList();
        foreach (var dataCenter in ring.DataCenters)
        {
            var want = replication.ReplicasIn(dataCenter, ring);
            var inDataCenter = ring.Members.Where(m => m.DataCenter == dataCenter).ToList();
            var taken = members.Where(m => m.DataCenter == dataCenter).ToList();
            Assert.Equal(Math.Min(want, inDataCenter.Count), taken.Count);
            Assert.Equal(Math.Min(want, inDataCenter.Select(m => m.Rack).Distinct().Count()), taken.Select(m => m.Rack).Distinct().Count());
        }

        // The first replica is the first node clockwise whose data center keeps replicas: the owner when its does.
        var owner = ring.MemberAt(ring.OwnerIndexAt(ring.VnodeIndexOf(token)));
        if (replication.ReplicasIn(owner.DataCenter, ring) > 0)
        {
            Assert.Equal(owner.Id, list[0]);
        }
        else if (list.Length > 0)
        {
            Assert.NotEqual(owner.Id, list[0]);
        }
    }

    /// <summary>The rule as plainly as it can be said: walk clockwise, take a node when its data center needs one and its rack is new there or the data center still has repeats to spend.</summary>
    private static NodeId[] Model(TokenRing ring, Token token, ReplicationSettings replication)
    {
        if (ring.IsEmpty)
        {
            return [];
        }

        var vnodes = Enumerable.Range(0, ring.VnodeCount).Select(v => (Token: ring.TokenAt(v).Value, Member: ring.MemberAt(ring.OwnerIndexAt(v)))).OrderBy(v => v.Token).ToList();
        var start = vnodes.FindIndex(v => v.Token >= token.Value);
        start = start < 0 ? 0 : start;
        var walk = Enumerable.Range(0, vnodes.Count).Select(i => vnodes[(start + i) % vnodes.Count].Member).DistinctBy(m => m.Id);
        var left = ring.DataCenters.ToDictionary(d => d, d => Math.Min(replication.ReplicasIn(d, ring), ring.Members.Count(m => m.DataCenter == d)));
        var repeats = ring.DataCenters.ToDictionary(d => d, d => Math.Max(0, left[d] - ring.Members.Where(m => m.DataCenter == d).Select(m => m.Rack).Distinct().Count()));
        var racksUsed = new HashSet<(string, string)>();
        var list = new List<NodeId>();
        foreach (var member in walk)
        {
            if (left[member.DataCenter] == 0)
            {
                continue;
            }

            if (!racksUsed.Add((member.DataCenter, member.Rack)))
            {
                if (repeats[member.DataCenter] == 0)
                {
                    continue;
                }

                repeats[member.DataCenter]--;
            }

            list.Add(member.Id);
            left[member.DataCenter]--;
        }

        return [.. list];
    }

    private sealed record Case(TokenRing Ring, ReplicationSettings Replication, ulong[] Probes, bool[] Usable)
    {
        public static Case Build((int DataCenter, int Rack, int Capacity, ulong[] Tokens)[] nodes, int[] counts, int kind, ulong[] probes, bool[] usable)
        {
            var used = new HashSet<ulong>();
            var members = new List<(RingMember, IReadOnlyList<Token>)>();
            for (var i = 0; i < nodes.Length; i++)
            {
                var tokens = nodes[i].Tokens.Where(used.Add).Select(t => new Token(t)).ToList();
                if (tokens.Count > 0)
                {
                    members.Add((Member(Name(i), DataCenterNames[nodes[i].DataCenter], "r" + nodes[i].Rack, nodes[i].Capacity), tokens));
                }
            }

            var ring = TokenRing.Create(members);
            var replication = kind switch
            {
                0 => ReplicationSettings.Default,
                1 => ReplicationSettings.Uniform(Math.Max(1, counts[0])),
                _ => ReplicationSettings.PerDataCenter(counts.Select((count, d) => (DataCenterNames[d], count)).Where(e => e.count > 0).DefaultIfEmpty((DataCenterNames[0], 2))),
            };

            // Probe the vnode tokens and their neighbours too, where off-by-one errors live.
            var allProbes = probes.ToList();
            for (var v = 0; v < ring.VnodeCount; v += 3)
            {
                allProbes.Add(ring.TokenAt(v).Value);
                allProbes.Add(unchecked(ring.TokenAt(v).Value + 1));
            }

            return new Case(ring, replication, [.. allProbes], usable);
        }
    }
}
