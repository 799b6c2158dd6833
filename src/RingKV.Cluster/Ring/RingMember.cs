using System;
using RingKV.Core.Errors;

namespace RingKV.Cluster.Ring;

/// <summary>A node's placement facts: its id, data center (<c>--dc</c>), rack (<c>--rack</c>) and capacity (<c>--capacity</c>).</summary>
/// <remarks>
/// Capacity is a relative weight: a node of capacity 2 gets twice the vnodes and twice the ownership of a node of capacity 1.
/// Data center and rack names are 1 to <see cref="MaxNameLength"/> characters of letters, digits, '.', '_' and '-', so a
/// replication setting (<c>dc1:3,dc2:2</c>) can name every data center. Racks are compared within their data center.
/// </remarks>
internal sealed record RingMember
{
    /// <summary>The data center and rack of a node that names none.</summary>
    public const string DefaultName = "default";

    /// <summary>The capacity of a node that states none.</summary>
    public const int DefaultCapacity = 1;

    /// <summary>The largest capacity; vnodes grow with it, so it is bounded.</summary>
    public const int MaxCapacity = 64;

    /// <summary>The longest data center or rack name.</summary>
    public const int MaxNameLength = 64;

    /// <summary>Creates a member; throws <see cref="RingKVException"/> (InvalidArgument) naming the bad fact.</summary>
    public RingMember(NodeId id, string dataCenter = DefaultName, string rack = DefaultName, int capacity = DefaultCapacity)
    {
        if (id.Name is null)
        {
            ThrowHelper.InvalidArgument("a ring member needs a node id");
        }

        if (!IsValidName(dataCenter))
        {
            ThrowHelper.InvalidArgument($"node {id}: data center name '{dataCenter}' is invalid: {NameRule}");
        }

        if (!IsValidName(rack))
        {
            ThrowHelper.InvalidArgument($"node {id}: rack name '{rack}' is invalid: {NameRule}");
        }

        if (capacity is < 1 or > MaxCapacity)
        {
            ThrowHelper.InvalidArgument($"node {id}: capacity {capacity} is out of range: expected 1 to {MaxCapacity}");
        }

        Id = id;
        DataCenter = dataCenter;
        Rack = rack;
        Capacity = capacity;
    }

    /// <summary>What a valid data center or rack name looks like, for error messages.</summary>
    public const string NameRule = "1 to 64 characters of letters, digits, '.', '_' and '-'";

    /// <summary>The node.</summary>
    public NodeId Id { get; }

    /// <summary>The node's data center.</summary>
    public string DataCenter { get; }

    /// <summary>The node's rack within its data center.</summary>
    public string Rack { get; }

    /// <summary>The node's relative weight, 1 to <see cref="MaxCapacity"/>.</summary>
    public int Capacity { get; }

    /// <summary>True when <paramref name="name"/> may name a data center or rack.</summary>
    public static bool IsValidName(ReadOnlySpan<char> name)
    {
        if (name.IsEmpty || name.Length > MaxNameLength)
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            {
                return false;
            }
        }

        return true;
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Id} ({DataCenter}/{Rack}, capacity {Capacity})";
}
