using System;
using System.Collections.Immutable;
using System.Linq;
using RingKV.Cluster.Membership;
using RingKV.Core.Random;

namespace RingKV.Cluster.Tests.Membership;

/// <summary>Records and messages for membership tests, fixed or drawn from a seeded PRNG.</summary>
internal static class MembershipSamples
{
    public static NodeRecord Record(string name, ulong generation = 1, ulong version = 1, NodeState state = NodeState.Normal, int tokens = 4, params string[] suspects)
        => new(
            new NodeId(name),
            generation,
            version,
            stateVersion: 1,
            state,
            [.. Enumerable.Range(1, tokens).Select(i => (ulong)i * 0x1000_0000_0000_0001UL)],
            "dc1",
            "rack1",
            capacity: 1,
            clientAddress: name + ":7379",
            peerAddress: name + ":7380",
            new LoadFigures(1000, 10, 250),
            [.. suspects.Select(s => new NodeId(s)).Order()]);

    public static NodeRecord RandomRecord(SplitMix64 random)
    {
        var id = RandomNode(random);
        var stateVersion = 1 + (random.NextUInt64() >> random.Next(1, 64));
        var version = stateVersion + (random.NextUInt64() >> random.Next(1, 64));
        var tokens = new ulong[random.Chance(10) ? 0 : random.Next(1, 300)];
        for (var i = 0; i < tokens.Length; i++)
        {
            tokens[i] = random.NextUInt64();
        }

        return new NodeRecord(
            id,
            1 + (random.NextUInt64() >> random.Next(1, 64)),
            version,
            stateVersion,
            (NodeState)random.Next(1, 5),
            [.. tokens],
            random.Chance(10) ? "" : RandomText(random, 1, 20),
            random.Chance(10) ? "" : RandomText(random, 1, 20),
            (uint)random.NextUInt64(),
            RandomText(random, 1, 40),
            RandomText(random, 1, 40),
            RandomLoad(random),
            RandomSuspects(random, id));
    }

    public static HeartbeatUpdate RandomHeartbeat(SplitMix64 random)
    {
        var id = RandomNode(random);
        var stateVersion = 1 + (random.NextUInt64() >> random.Next(1, 64));
        return new HeartbeatUpdate(id, 1 + (random.NextUInt64() >> random.Next(1, 64)), stateVersion + (random.NextUInt64() >> random.Next(1, 64)), stateVersion, RandomLoad(random), RandomSuspects(random, id));
    }

    public static GossipMessage RandomMessage(SplitMix64 random)
    {
        var from = RandomNode(random);
        var address = RandomText(random, 1, 30);
        switch ((GossipMessageKind)random.Next(1, 6))
        {
            case GossipMessageKind.Ping:
                return new GossipPing(RandomHeartbeat(random), address, (long)random.NextUInt64());
            case GossipMessageKind.Pong:
                return new GossipPong(RandomHeartbeat(random), address, (long)random.NextUInt64());
            case GossipMessageKind.Syn:
                return new GossipSyn(from, address, random.Chance(50) ? "" : RandomText(random, 1, 30), RandomDigests(random));
            case GossipMessageKind.Ack:
                return new GossipAck(from, address, random.Chance(50) ? "" : RandomText(random, 1, 30), RandomList(random, RandomRecord, 6), RandomList(random, RandomHeartbeat, 6), RandomDigests(random));
            default:
                return new GossipAck2(from, address, RandomList(random, RandomRecord, 6), RandomList(random, RandomHeartbeat, 6));
        }
    }

    public static NodeId RandomNode(SplitMix64 random) => new("n" + RandomText(random, 1, 12));

    /// <summary>Text of <paramref name="min"/> to <paramref name="max"/> characters, some of them beyond ASCII (2-, 3- and 4-byte UTF-8).</summary>
    public static string RandomText(SplitMix64 random, int min, int max)
    {
        var length = random.Next(min, max + 1);
        var text = new System.Text.StringBuilder(length);
        for (var i = 0; i < length; i++)
        {
            switch (random.Next(10))
            {
                case 0:
                    text.Append((char)random.Next(0xA0, 0x800));
                    break;
                case 1:
                    text.Append('\u20AC');
                    break;
                case 2:
                    text.Append("\U0001F600");
                    break;
                default:
                    text.Append((char)random.Next('a', 'z' + 1));
                    break;
            }
        }

        return text.ToString();
    }

    private static LoadFigures RandomLoad(SplitMix64 random)
        => new(random.NextUInt64() >> random.Next(0, 64), random.NextUInt64() >> random.Next(0, 64), random.NextUInt64() >> random.Next(0, 64));

    private static ImmutableArray<NodeId> RandomSuspects(SplitMix64 random, NodeId self)
    {
        var count = random.Chance(50) ? 0 : random.Next(1, 6);
        return [.. Enumerable.Range(0, count).Select(_ => RandomNode(random)).Where(n => n != self).Distinct().Order()];
    }

    private static ImmutableArray<GossipDigest> RandomDigests(SplitMix64 random)
        => RandomList(random, r => new GossipDigest(RandomNode(r), r.NextUInt64() >> r.Next(0, 64), r.NextUInt64() >> r.Next(0, 64)), 20);

    private static ImmutableArray<T> RandomList<T>(SplitMix64 random, Func<SplitMix64, T> element, int max)
    {
        var count = random.Next(0, max + 1);
        var builder = ImmutableArray.CreateBuilder<T>(count);
        for (var i = 0; i < count; i++)
        {
            builder.Add(element(random));
        }

        return builder.MoveToImmutable();
    }
}
