using System;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;
using RingKV.Core.Errors;

namespace RingKV.Cluster.Ring;

/// <summary>How many replicas each data center keeps of every token (<c>--replication</c>).</summary>
/// <remarks>
/// <para>Three forms, all immutable:</para>
/// <list type="bullet">
/// <item><see cref="Default"/>: <see cref="DefaultReplicas"/> in every data center of the ring, except a ring of one node,
/// which keeps its one copy (a single node answers quorum reads and writes alone until it is told otherwise).</item>
/// <item><see cref="Uniform"/> (<c>--replication 3</c>): the same count in every data center of the ring.</item>
/// <item><see cref="PerDataCenter"/> (<c>--replication dc1:3,dc2:2</c>): the listed counts; an unlisted data center keeps no
/// replicas, as with Cassandra's NetworkTopologyStrategy.</item>
/// </list>
/// <para>
/// The default depends on the ring, so callers keep the setting as given and resolve counts per ring with
/// <see cref="ReplicasIn(string, TokenRing)"/> (<see cref="Placement"/> does it once per ring).
/// </para>
/// </remarks>
internal sealed class ReplicationSettings : IEquatable<ReplicationSettings>
{
    /// <summary>Replicas per data center when none are set.</summary>
    public const int DefaultReplicas = 3;

    /// <summary>The largest count a data center may ask for.</summary>
    public const int MaxReplicasPerDataCenter = 16;

    private const string Syntax = "expected a replica count (3), data center counts (dc1:3,dc2:2) or default";

    private readonly (string DataCenter, int Replicas)[] _dataCenters;
    private readonly int _uniform;

    private ReplicationSettings(bool isDefault, int uniform, (string DataCenter, int Replicas)[] dataCenters)
    {
        IsDefault = isDefault;
        _uniform = uniform;
        _dataCenters = dataCenters;
    }

    /// <summary>The default: <see cref="DefaultReplicas"/> per data center, one on a one-node ring.</summary>
    public static ReplicationSettings Default { get; } = new(true, 0, []);

    /// <summary>True for <see cref="Default"/>.</summary>
    public bool IsDefault { get; }

    /// <summary>True for a count applied to every data center.</summary>
    public bool IsUniform => _uniform > 0;

    /// <summary>The listed data centers and counts, sorted ordinally by name; empty unless set per data center.</summary>
    public IReadOnlyList<(string DataCenter, int Replicas)> DataCenters => _dataCenters;

    /// <summary><paramref name="replicas"/> in every data center; throws <see cref="RingKVException"/> (InvalidArgument) outside 1 to <see cref="MaxReplicasPerDataCenter"/>.</summary>
    public static ReplicationSettings Uniform(int replicas)
    {
        if (CheckCount(replicas, null) is { } error)
        {
            ThrowHelper.InvalidArgument(error);
        }

        return new(false, replicas, []);
    }

    /// <summary>The given count per data center; throws <see cref="RingKVException"/> (InvalidArgument) on a bad name, a bad count or a repeated data center.</summary>
    public static ReplicationSettings PerDataCenter(IEnumerable<(string DataCenter, int Replicas)> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var list = new List<(string DataCenter, int Replicas)>(entries);
        if (Build(list) is { } error)
        {
            ThrowHelper.InvalidArgument(error);
        }

        return new(false, 0, Sorted(list));
    }

    /// <summary>Parses <c>default</c>, <c>3</c> or <c>dc1:3,dc2:2</c>; throws <see cref="RingKVException"/> (InvalidArgument) saying what is wrong.</summary>
    public static ReplicationSettings Parse(string? text)
    {
        if (!TryParse(text, out var settings, out var error))
        {
            ThrowHelper.InvalidArgument(error);
        }

        return settings;
    }

    /// <summary>Parses <c>default</c>, <c>3</c> or <c>dc1:3,dc2:2</c> (spaces around names and counts allowed); false with a message saying what is wrong.</summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out ReplicationSettings? settings, [NotNullWhen(false)] out string? error)
    {
        settings = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = $"replication is empty: {Syntax}";
            return false;
        }

        var trimmed = text.Trim();
        if (trimmed.Equals("default", StringComparison.OrdinalIgnoreCase))
        {
            settings = Default;
            error = null;
            return true;
        }

        if (!trimmed.Contains(':', StringComparison.Ordinal) && !trimmed.Contains(',', StringComparison.Ordinal))
        {
            if (!TryParseCount(trimmed, out var count))
            {
                error = $"replication '{text}' is not understood: {Syntax}";
                return false;
            }

            error = CheckCount(count, null);
            if (error is not null)
            {
                return false;
            }

            settings = new(false, count, []);
            return true;
        }

        var entries = new List<(string DataCenter, int Replicas)>();
        var parts = trimmed.Split(',');
        for (var i = 0; i < parts.Length; i++)
        {
            var part = parts[i].Trim();
            if (part.Length == 0)
            {
                error = $"replication '{text}' has an empty entry (number {i + 1}): {Syntax}";
                return false;
            }

            var colon = part.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0 || part.IndexOf(':', colon + 1) >= 0)
            {
                error = $"replication entry '{part}' is not data-center:count: {Syntax}";
                return false;
            }

            var name = part[..colon].Trim();
            var countText = part[(colon + 1)..].Trim();
            if (!RingMember.IsValidName(name))
            {
                error = $"replication entry '{part}': data center name '{name}' is invalid: {RingMember.NameRule}";
                return false;
            }

            if (!TryParseCount(countText, out var count))
            {
                error = $"replication entry '{part}': replica count '{countText}' is not a whole number";
                return false;
            }

            entries.Add((name, count));
        }

        error = Build(entries);
        if (error is not null)
        {
            return false;
        }

        settings = new(false, 0, Sorted(entries));
        return true;
    }

    /// <summary>The replicas <paramref name="dataCenter"/> keeps of each token on <paramref name="ring"/> (the default resolved; 0 for an unlisted data center).</summary>
    /// <remarks>A count above the data center's nodes is kept as asked: the preference list then holds every node there.</remarks>
    public int ReplicasIn(string dataCenter, TokenRing ring)
    {
        ArgumentNullException.ThrowIfNull(ring);
        return ReplicasIn(dataCenter, ring.MemberCount);
    }

    /// <summary>The replicas <paramref name="dataCenter"/> keeps of each token on a ring of <paramref name="members"/> members (a ring about to have them).</summary>
    public int ReplicasIn(string dataCenter, int members)
    {
        if (IsDefault)
        {
            return members == 1 ? 1 : DefaultReplicas;
        }

        if (IsUniform)
        {
            return _uniform;
        }

        foreach (var (name, replicas) in _dataCenters)
        {
            if (string.Equals(name, dataCenter, StringComparison.Ordinal))
            {
                return replicas;
            }
        }

        return 0;
    }

    /// <summary>The listed data centers that no member of <paramref name="ring"/> is in (a typo, or a data center not yet up), sorted.</summary>
    public IReadOnlyList<string> UnknownDataCenters(TokenRing ring)
    {
        ArgumentNullException.ThrowIfNull(ring);
        var unknown = new List<string>();
        foreach (var (name, _) in _dataCenters)
        {
            if (ring.DataCenterIndexOf(name) < 0)
            {
                unknown.Add(name);
            }
        }

        return unknown;
    }

    /// <summary>The setting as <see cref="Parse"/> reads it back ("default" for <see cref="Default"/>).</summary>
    public override string ToString()
    {
        if (IsDefault)
        {
            return "default";
        }

        if (IsUniform)
        {
            return _uniform.ToString(CultureInfo.InvariantCulture);
        }

        var text = new StringBuilder();
        foreach (var (name, replicas) in _dataCenters)
        {
            text.Append(text.Length == 0 ? "" : ",").Append(name).Append(':').Append(replicas.ToString(CultureInfo.InvariantCulture));
        }

        return text.ToString();
    }

    /// <inheritdoc/>
    public bool Equals(ReplicationSettings? other)
    {
        if (other is null || IsDefault != other.IsDefault || _uniform != other._uniform || _dataCenters.Length != other._dataCenters.Length)
        {
            return false;
        }

        for (var i = 0; i < _dataCenters.Length; i++)
        {
            if (!string.Equals(_dataCenters[i].DataCenter, other._dataCenters[i].DataCenter, StringComparison.Ordinal)
                || _dataCenters[i].Replicas != other._dataCenters[i].Replicas)
            {
                return false;
            }
        }

        return true;
    }

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as ReplicationSettings);

    /// <inheritdoc/>
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(ToString());

    private static bool TryParseCount(string text, out int count) =>
        int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out count);

    private static string? CheckCount(int count, string? dataCenter)
    {
        var subject = dataCenter is null ? "replica count" : $"replica count for {dataCenter}";
        if (count < 1)
        {
            return dataCenter is null
                ? $"{subject} must be at least 1, got {count}"
                : $"{subject} must be at least 1, got {count} (leave a data center out to keep no replicas there)";
        }

        return count > MaxReplicasPerDataCenter ? $"{subject} is {count}; at most {MaxReplicasPerDataCenter} are allowed" : null;
    }

    private static string? Build(List<(string DataCenter, int Replicas)> entries)
    {
        if (entries.Count == 0)
        {
            return $"replication lists no data center: {Syntax}";
        }

        var names = new List<string>(entries.Count);
        foreach (var (name, replicas) in entries)
        {
            if (!RingMember.IsValidName(name))
            {
                return $"data center name '{name}' is invalid: {RingMember.NameRule}";
            }

            if (CheckCount(replicas, name) is { } error)
            {
                return error;
            }

            names.Add(name);
        }

        names.Sort(StringComparer.Ordinal);
        for (var i = 1; i < names.Count; i++)
        {
            if (string.Equals(names[i - 1], names[i], StringComparison.Ordinal))
            {
                return $"data center {names[i]} is listed twice in the replication setting";
            }
        }

        return null;
    }

    private static (string DataCenter, int Replicas)[] Sorted(List<(string DataCenter, int Replicas)> entries)
    {
        var sorted = entries.ToArray();
        Array.Sort(sorted, static (a, b) => string.CompareOrdinal(a.DataCenter, b.DataCenter));
        return sorted;
    }
}
