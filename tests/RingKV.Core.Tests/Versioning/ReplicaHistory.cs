using System;
using System.Collections.Generic;
using System.Linq;
using RingKV.Core.Random;
using RingKV.Core.Versioning;

namespace RingKV.Core.Tests.Versioning;

/// <summary>
/// A random history of one key across replicas, replayable from its seed: coordinators stamp plain and versioned
/// writes from their hybrid clocks (skewed, stepping back, restarting), each write's set goes to the other replicas
/// through a network that loses, duplicates and reorders, replicas also sync directly, clients read; then every
/// replica exchanges with every other until nothing changes.
/// </summary>
/// <remarks>
/// A versioned write goes through a replica whose state has taken in every dot its coordinator minted before (a write
/// or a merge brought them), as <see cref="SiblingSet.Put(VersionVector, ReadOnlyMemory{byte}, ulong, HybridTimestamp, int, ulong)"/>
/// requires; otherwise through the replica it last wrote to. That is the cluster's rule: a coordinator applies the
/// write to a replica's set, then sends the resulting set. A plain write goes through any replica, one that holds no
/// copy of the coordinator's earlier writes included (<see cref="SiblingSet.PutLww"/> relaxes the requirement).
/// </remarks>
internal sealed class ReplicaHistory
{
    private static readonly ulong[] ActorIds = [0x0000_0000_0000_0001, 0x8000_0000_0000_0000, 0xFFFF_FFFF_FFFF_FFFF, 0x5DEE_CE66_D1CE_4E5B];

    private readonly SplitMix64 _random;
    private readonly List<string> _log = [];

    private ReplicaHistory(long seed, WriteMix mix, int? maxVectorEntries)
    {
        Seed = seed;
        _random = new SplitMix64(seed);
        ReplicaCount = _random.Next(2, 5);
        ActorCount = _random.Next(1, 5);
        MaxVectorEntries = maxVectorEntries ?? new[] { 1, 2, 3, 16 }[_random.Next(4)];
        Mix = mix;
        Replicas = new SiblingSet[ReplicaCount];
        Array.Fill(Replicas, SiblingSet.Empty);
        BeforeExchange = [];
    }

    /// <summary>Which writes a history makes.</summary>
    public enum WriteMix
    {
        /// <summary>Plain SET and DEL, KV.PUT and KV.DEL with and without contexts.</summary>
        Everything,

        /// <summary>Plain SET and DEL only.</summary>
        PlainOnly,

        /// <summary>KV.PUT and KV.DEL only.</summary>
        VersionedOnly,
    }

    private enum WriteKind
    {
        PlainSet,
        PlainDelete,
        KvPutWithoutContext,
        KvPutWithReadContext,
        KvDeleteWithReadContext,
        KvDeleteWhatItSees,
    }

    /// <summary>A write a coordinator acknowledged: it is in the coordinator's replica's set.</summary>
    /// <remarks><c>ClientContext</c> is the context a versioned write supersedes (null for a plain write); <c>Read</c> the read it came from, if any.</remarks>
    public sealed record Write(int Index, Dot Dot, WriteStamp Stamp, bool IsLww, bool IsTombstone, byte[] Value, VersionVector? ClientContext, Read? Read);

    /// <summary>A client's read of one replica: the context it got and the dots of the siblings it saw.</summary>
    public sealed record Read(int Replica, VersionVector Context, Dot[] Seen);

    private sealed record Message(int To, SiblingSet State, ulong[] Absorbed);

    public long Seed { get; }

    public int ReplicaCount { get; }

    public int ActorCount { get; }

    public int MaxVectorEntries { get; }

    public WriteMix Mix { get; }

    /// <summary>True when a context may have been truncated: more actors than entries allowed.</summary>
    public bool MayTruncate => MaxVectorEntries < ActorCount;

    /// <summary>The replicas after the full exchange.</summary>
    public SiblingSet[] Replicas { get; }

    /// <summary>The replicas before the full exchange.</summary>
    public SiblingSet[] BeforeExchange { get; private set; }

    public List<Write> Writes { get; } = [];

    public List<Read> Reads { get; } = [];

    /// <summary>Every set a replica held or a message carried.</summary>
    public List<SiblingSet> States { get; } = [SiblingSet.Empty];

    /// <summary>The operations, one line each, for a failure message.</summary>
    public IReadOnlyList<string> Log => _log;

    /// <summary>Runs the history of <paramref name="seed"/>; <paramref name="maxVectorEntries"/> null draws it.</summary>
    public static ReplicaHistory Run(long seed, WriteMix mix, int? maxVectorEntries = null)
    {
        var history = new ReplicaHistory(seed, mix, maxVectorEntries);
        history.Simulate();
        return history;
    }

    /// <summary>Writes a later client context covers (the KV.PUT or KV.DEL superseded them).</summary>
    public bool IsCoveredByAContext(Write write) => Writes.Any(v => v.ClientContext is { } context && context.Covers(write.Dot));

    /// <summary>Writes a last-writer-wins write with a higher stamp supersedes.</summary>
    public bool IsBelowAPlainWrite(Write write) => Writes.Any(v => v.IsLww && v.Stamp > write.Stamp);

    /// <summary>What must survive: every write neither covered by a client's context nor below a plain write.</summary>
    public List<Write> Survivors() => Writes.Where(w => !IsCoveredByAContext(w) && !IsBelowAPlainWrite(w)).ToList();

    /// <summary>A shuffled copy, from the history's PRNG.</summary>
    public List<T> Shuffle<T>(IEnumerable<T> items)
    {
        var list = items.ToList();
        for (var i = list.Count - 1; i > 0; i--)
        {
            var j = _random.Next(i + 1);
            (list[i], list[j]) = (list[j], list[i]);
        }

        return list;
    }

    /// <summary>A number in [0, <paramref name="maxExclusive"/>) from the history's PRNG.</summary>
    public int Next(int maxExclusive) => _random.Next(maxExclusive);

    private void Simulate()
    {
        var clocks = new HybridClock[ActorCount];
        var skewMs = new long[ActorCount];
        var lastCounter = new ulong[ActorCount];
        var lastReplica = new int[ActorCount];
        for (var a = 0; a < ActorCount; a++)
        {
            clocks[a] = new HybridClock(HybridTimestamp.MinValue);
            skewMs[a] = _random.Next(-500, 501);
            lastReplica[a] = a % ReplicaCount;
        }

        // absorbed[r][a]: highest counter of actor a that replica r's set has taken in, by a write or a merge.
        var absorbed = new ulong[ReplicaCount][];
        for (var r = 0; r < ReplicaCount; r++)
        {
            absorbed[r] = new ulong[ActorCount];
        }

        var network = new List<Message>();
        long physical = 1_700_000_000_000;
        var steps = _random.Next(0, 120);
        _log.Add($"seed {Seed}: {ReplicaCount} replicas, {ActorCount} actors, max {MaxVectorEntries} entries, {steps} steps, {Mix}");
        for (var step = 0; step < steps; step++)
        {
            physical += _random.Next(-3, 21);
            var pick = _random.Next(100);
            if (pick < 40)
            {
                var a = _random.Next(ActorCount);
                var r = _random.Chance(50) ? a % ReplicaCount : _random.Next(ReplicaCount);
                var kind = PickKind();
                if (absorbed[r][a] < lastCounter[a] && kind is not (WriteKind.PlainSet or WriteKind.PlainDelete))
                {
                    r = lastReplica[a];
                }

                var write = Coordinate(kind, a, r, clocks[a], physical + skewMs[a]);
                lastCounter[a] = write.Dot.Counter;
                lastReplica[a] = r;
                absorbed[r][a] = Math.Max(absorbed[r][a], write.Dot.Counter);
                for (var other = 0; other < ReplicaCount; other++)
                {
                    if (other != r && _random.Chance(85))
                    {
                        network.Add(new Message(other, Replicas[r], (ulong[])absorbed[r].Clone()));
                    }
                }
            }
            else if (pick < 65)
            {
                if (network.Count == 0)
                {
                    continue;
                }

                var i = _random.Next(network.Count);
                var message = network[i];
                var duplicate = _random.Chance(25);
                if (!duplicate)
                {
                    network.RemoveAt(i);
                }

                Absorb(message.To, message.State, message.Absorbed, absorbed);
                _log.Add($"deliver #{i} to r{message.To}{(duplicate ? " (kept: it comes again)" : string.Empty)} -> {Replicas[message.To]}");
            }
            else if (pick < 70)
            {
                if (network.Count > 0)
                {
                    var i = _random.Next(network.Count);
                    network.RemoveAt(i);
                    _log.Add($"lose #{i}");
                }
            }
            else if (pick < 80)
            {
                var from = _random.Next(ReplicaCount);
                var to = _random.Next(ReplicaCount);
                Absorb(to, Replicas[from], absorbed[from], absorbed);
                _log.Add($"sync r{from} into r{to} -> {Replicas[to]}");
            }
            else if (pick < 96)
            {
                var r = _random.Next(ReplicaCount);
                var state = Replicas[r];
                var seen = new Dot[state.Count];
                for (var i = 0; i < seen.Length; i++)
                {
                    seen[i] = state[i].Dot;
                }

                Reads.Add(new Read(r, state.Context, seen));

                // The coordinator serving the read observes what it read.
                clocks[_random.Next(ActorCount)].Observe(state.MaxTimestamp);
                _log.Add($"read r{r} -> {state}");
            }
            else
            {
                // The host persisted a floor at least Last; the machine's clock comes back behind.
                var a = _random.Next(ActorCount);
                clocks[a] = new HybridClock(clocks[a].Last);
                skewMs[a] -= _random.Next(0, 2000);
                _log.Add($"restart a{a} above {clocks[a].Last}, clock now {skewMs[a]} ms off");
            }
        }

        BeforeExchange = (SiblingSet[])Replicas.Clone();
        ExchangeEverything();
    }

    private WriteKind PickKind()
    {
        var kind = Mix switch
        {
            WriteMix.PlainOnly => _random.Chance(75) ? WriteKind.PlainSet : WriteKind.PlainDelete,
            WriteMix.VersionedOnly => (WriteKind)_random.Next((int)WriteKind.KvPutWithoutContext, (int)WriteKind.KvDeleteWhatItSees + 1),
            _ => _random.Next(100) switch
            {
                < 18 => WriteKind.PlainSet,
                < 25 => WriteKind.PlainDelete,
                < 45 => WriteKind.KvPutWithoutContext,
                < 75 => WriteKind.KvPutWithReadContext,
                < 87 => WriteKind.KvDeleteWithReadContext,
                _ => WriteKind.KvDeleteWhatItSees,
            },
        };

        return kind is WriteKind.KvPutWithReadContext or WriteKind.KvDeleteWithReadContext && Reads.Count == 0 ? WriteKind.KvPutWithoutContext : kind;
    }

    private Write Coordinate(WriteKind kind, int a, int r, HybridClock clock, long physicalUnixMs)
    {
        var before = Replicas[r];

        // A coordinator reads the key before stamping, mostly; a blind write's clock may lag the set.
        if (_random.Chance(85))
        {
            clock.Observe(before.MaxTimestamp);
        }

        var timestamp = clock.Next(physicalUnixMs);
        var actor = ActorIds[a];
        var value = BitConverter.GetBytes(Writes.Count);
        Read? read = kind is WriteKind.KvPutWithReadContext or WriteKind.KvDeleteWithReadContext ? Reads[_random.Next(Reads.Count)] : null;
        var context = kind switch
        {
            WriteKind.KvPutWithoutContext => VersionVector.Empty,
            WriteKind.KvDeleteWhatItSees => before.Context,
            _ => read?.Context,
        };

        var after = kind switch
        {
            WriteKind.PlainSet => before.PutLww(value, actor, timestamp, MaxVectorEntries),
            WriteKind.PlainDelete => before.DeleteLww(actor, timestamp, MaxVectorEntries),
            WriteKind.KvPutWithoutContext or WriteKind.KvPutWithReadContext => before.Put(context!, value, actor, timestamp, MaxVectorEntries),
            _ => before.Delete(context!, actor, timestamp, MaxVectorEntries),
        };

        var sibling = NewSibling(before, after);
        clock.Observe(sibling);
        var isLww = kind is WriteKind.PlainSet or WriteKind.PlainDelete;
        var isTombstone = kind is WriteKind.PlainDelete or WriteKind.KvDeleteWithReadContext or WriteKind.KvDeleteWhatItSees;
        var write = new Write(Writes.Count, sibling.Dot, sibling.Stamp, isLww, isTombstone, isTombstone ? [] : value, isLww ? null : context, read);
        Writes.Add(write);
        Replicas[r] = after;
        States.Add(after);
        _log.Add($"w{write.Index} {kind} by a{a} through r{r} at {timestamp} -> {after}");
        return write;
    }

    private void Absorb(int to, SiblingSet state, ulong[] stateAbsorbed, ulong[][] absorbed)
    {
        Replicas[to] = Replicas[to].Merge(state);
        States.Add(Replicas[to]);
        for (var a = 0; a < ActorCount; a++)
        {
            absorbed[to][a] = Math.Max(absorbed[to][a], stateAbsorbed[a]);
        }
    }

    /// <summary>Merges every replica into every other, in shuffled order, until a whole pass changes nothing.</summary>
    private void ExchangeEverything()
    {
        var pairs = new List<(int From, int To)>();
        for (var i = 0; i < ReplicaCount; i++)
        {
            for (var j = 0; j < ReplicaCount; j++)
            {
                if (i != j)
                {
                    pairs.Add((i, j));
                }
            }
        }

        for (var pass = 0; ; pass++)
        {
            if (pass > ReplicaCount + 1)
            {
                throw new InvalidOperationException("the full exchange did not reach a fixed point");
            }

            var changed = false;
            foreach (var (from, to) in Shuffle(pairs))
            {
                var merged = Replicas[to].Merge(Replicas[from]);
                changed |= !merged.Equals(Replicas[to]);
                Replicas[to] = merged;
            }

            if (!changed)
            {
                return;
            }
        }
    }

    private static Sibling NewSibling(SiblingSet before, SiblingSet after)
    {
        foreach (var sibling in after)
        {
            var isNew = true;
            foreach (var old in before)
            {
                isNew &= old.Dot != sibling.Dot;
            }

            if (isNew)
            {
                return sibling;
            }
        }

        throw new InvalidOperationException("a write added no sibling");
    }
}
