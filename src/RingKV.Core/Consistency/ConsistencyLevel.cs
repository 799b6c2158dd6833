using System;
using System.Globalization;

namespace RingKV.Core.Consistency;

/// <summary>How many replicas a read or write waits for, named as in Cassandra.</summary>
public enum ConsistencyKind : byte
{
    /// <summary>A fixed number of replicas (ONE, TWO, THREE, or a number).</summary>
    Count = 0,

    /// <summary>A majority of all replicas: floor(N / 2) + 1.</summary>
    Quorum = 1,

    /// <summary>A majority of the replicas in the coordinator's data center.</summary>
    LocalQuorum = 2,

    /// <summary>A majority in every data center.</summary>
    EachQuorum = 3,

    /// <summary>Every replica.</summary>
    All = 4,
}

/// <summary>A consistency level: ONE, TWO, THREE, QUORUM, LOCAL_QUORUM, EACH_QUORUM, ALL or a replica count.</summary>
/// <remarks>
/// A value; what it means in replicas depends on the replication of the key (<see cref="Required"/>). On a cluster of one
/// node every level asks for the one replica there is.
/// </remarks>
public readonly record struct ConsistencyLevel
{
    private ConsistencyLevel(ConsistencyKind kind, int count, bool strict = false, bool repair = false)
    {
        Kind = kind;
        Count = count;
        Strict = strict;
        Repair = repair;
    }

    /// <summary>One replica.</summary>
    public static ConsistencyLevel One => new(ConsistencyKind.Count, 1);

    /// <summary>Two replicas.</summary>
    public static ConsistencyLevel Two => new(ConsistencyKind.Count, 2);

    /// <summary>Three replicas.</summary>
    public static ConsistencyLevel Three => new(ConsistencyKind.Count, 3);

    /// <summary>A majority of all replicas.</summary>
    public static ConsistencyLevel Quorum => new(ConsistencyKind.Quorum, 0);

    /// <summary>A majority of the local data center's replicas.</summary>
    public static ConsistencyLevel LocalQuorum => new(ConsistencyKind.LocalQuorum, 0);

    /// <summary>A majority in each data center.</summary>
    public static ConsistencyLevel EachQuorum => new(ConsistencyKind.EachQuorum, 0);

    /// <summary>Every replica.</summary>
    public static ConsistencyLevel All => new(ConsistencyKind.All, 0);

    /// <summary>Which kind of level: a count, a majority, or all.</summary>
    public ConsistencyKind Kind { get; }

    /// <summary>The replica count of a counted level; 0 for the named majorities and ALL.</summary>
    public int Count { get; }

    /// <summary>
    /// Strict quorum (<c>STRICT</c> after the level): only the key's own replicas count toward it, never a stand-in for a
    /// down one (sloppy quorum, the default), so the request fails UNAVAILABLE when too few of them are reachable.
    /// </summary>
    public bool Strict { get; }

    /// <summary>True for <c>default(ConsistencyLevel)</c>: no level given, the store's default applies.</summary>
    public bool IsDefault => Kind == ConsistencyKind.Count && Count == 0;

    /// <summary>
    /// Blocking read repair (<c>REPAIR</c> after a read's level): the read answers only once the replicas it found stale
    /// have acknowledged the merged record, so what it returned is on as many replicas as the level asks. Reads only.
    /// </summary>
    public bool Repair { get; }

    /// <summary>This level with strict quorum (see <see cref="Strict"/>).</summary>
    public ConsistencyLevel AsStrict() => new(Kind, Count, strict: true, Repair);

    /// <summary>This level with blocking read repair (see <see cref="Repair"/>).</summary>
    public ConsistencyLevel AsRepair() => new(Kind, Count, Strict, repair: true);

    /// <summary>A fixed count of replicas.</summary>
    public static ConsistencyLevel OfCount(int replicas)
    {
        if (replicas < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(replicas), replicas, "a consistency level needs at least one replica");
        }

        return new ConsistencyLevel(ConsistencyKind.Count, replicas);
    }

    /// <summary>Parses a level as clients write it (case-insensitive): ONE, TWO, THREE, QUORUM, LOCAL_QUORUM, EACH_QUORUM, ALL, or a positive number.</summary>
    public static bool TryParse(ReadOnlySpan<byte> text, out ConsistencyLevel level)
    {
        level = default;
        Span<char> upper = stackalloc char[16];
        if (text.IsEmpty || text.Length > upper.Length)
        {
            return false;
        }

        for (var i = 0; i < text.Length; i++)
        {
            var c = (char)text[i];
            upper[i] = c is >= 'a' and <= 'z' ? (char)(c - 32) : c;
        }

        var name = upper[..text.Length];
        switch (name)
        {
            case "ONE":
                level = One;
                return true;
            case "TWO":
                level = Two;
                return true;
            case "THREE":
                level = Three;
                return true;
            case "QUORUM":
                level = Quorum;
                return true;
            case "LOCAL_QUORUM":
                level = LocalQuorum;
                return true;
            case "EACH_QUORUM":
                level = EachQuorum;
                return true;
            case "ALL":
                level = All;
                return true;
        }

        if (int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var count) && count >= 1)
        {
            level = OfCount(count);
            return true;
        }

        return false;
    }

    /// <summary>Parses like <see cref="TryParse(ReadOnlySpan{byte}, out ConsistencyLevel)"/>.</summary>
    public static bool TryParse(string text, out ConsistencyLevel level) =>
        TryParse(System.Text.Encoding.ASCII.GetBytes(text ?? ""), out level);

    /// <summary>
    /// The replicas the level waits for, given <paramref name="replicas"/> in all (N) and <paramref name="localReplicas"/> in
    /// the coordinator's data center. EACH_QUORUM is counted here as a quorum of all; the coordinator checks each data center.
    /// A count above N asks for more than exist (the caller answers UNAVAILABLE).
    /// </summary>
    public int Required(int replicas, int localReplicas) => Kind switch
    {
        ConsistencyKind.Count => Count,
        ConsistencyKind.Quorum or ConsistencyKind.EachQuorum => (replicas / 2) + 1,
        ConsistencyKind.LocalQuorum => (localReplicas / 2) + 1,
        _ => replicas,
    };

    /// <summary>The name as clients write it: ONE, QUORUM, ..., or the number; then STRICT and REPAIR when they apply.</summary>
    public override string ToString() => Name + (Strict ? " STRICT" : "") + (Repair ? " REPAIR" : "");

    private string Name => Kind switch
    {
        ConsistencyKind.Count => Count switch
        {
            1 => "ONE",
            2 => "TWO",
            3 => "THREE",
            _ => Count.ToString(CultureInfo.InvariantCulture),
        },
        ConsistencyKind.Quorum => "QUORUM",
        ConsistencyKind.LocalQuorum => "LOCAL_QUORUM",
        ConsistencyKind.EachQuorum => "EACH_QUORUM",
        _ => "ALL",
    };
}
