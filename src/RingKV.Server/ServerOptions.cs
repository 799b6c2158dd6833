using System;
using System.Globalization;
using System.Net;
using System.Reflection;
using Microsoft.Extensions.Configuration;

using RingKV.Storage;

namespace RingKV.Server;

/// <summary>Settings of one node; every one has a default, so <c>ringkv serve</c> needs no configuration.</summary>
/// <remarks>
/// Read from (later wins): defaults, a JSON file (<c>--config</c>), environment variables <c>RINGKV_&lt;NAME&gt;</c>
/// (e.g. <c>RINGKV_LISTEN</c>, <c>RINGKV_MAXVALUEBYTES</c>), then command-line flags.
/// </remarks>
internal sealed class ServerOptions
{
    /// <summary>RESP listen address, host:port.</summary>
    public string Listen { get; set; } = "127.0.0.1:7379";

    /// <summary>Where the node keeps its data.</summary>
    public string DataDirectory { get; set; } = "./data";

    /// <summary>Commit-log sync: always, periodic:&lt;ms&gt; or none.</summary>
    public string Sync { get; set; } = "always";

    /// <summary>Memory for memtables, block cache, filters and indexes, in MiB.</summary>
    public int MemoryMb { get; set; } = 512;

    /// <summary>Block compression: lz4, zstd or none.</summary>
    public string Compression { get; set; } = "lz4";

    /// <summary>Largest key accepted, in bytes.</summary>
    public int MaxKeyBytes { get; set; } = 64 * 1024;

    /// <summary>Largest value accepted, in bytes.</summary>
    public int MaxValueBytes { get; set; } = 1024 * 1024;

    /// <summary>memcached text-protocol listen address, host:port; unset: no memcached port.</summary>
    public string? MemcachedListen { get; set; }

    /// <summary>Whether memcached's flush_all may erase the data set.</summary>
    public bool MemcachedFlushAll { get; set; }

    /// <summary>Most clients connected at once.</summary>
    public int MaxClients { get; set; } = 10_000;

    /// <summary>When set, clients must AUTH with it.</summary>
    public string? Password { get; set; }

    /// <summary>Whether FLUSHALL/FLUSHDB may erase the data set.</summary>
    public bool EnableFlushAll { get; set; }

    /// <summary>Entries kept in a key's version vector before the least recently updated are dropped.</summary>
    public int MaxVersionVectorEntries { get; set; } = 10;

    /// <summary>Commands running at least this many microseconds go into SLOWLOG; 0: every command; negative: none (Redis's slowlog-log-slower-than).</summary>
    public long SlowlogLogSlowerThan { get; set; } = 10_000;

    /// <summary>Entries SLOWLOG keeps (Redis's slowlog-max-len).</summary>
    public int SlowlogMaxLen { get; set; } = 128;

    /// <summary>Commands running at least this many milliseconds are sampled for LATENCY; 0: off (Redis's latency-monitor-threshold).</summary>
    public long LatencyMonitorThreshold { get; set; }

    /// <summary>Largest request one connection may send, in MiB (Redis's client-query-buffer-limit); unset: <see cref="EffectiveMaxRequestBytes"/>.</summary>
    public int? MaxRequestMb { get; set; }

    /// <summary>Request bytes all connections may buffer at once, in MiB; unset: <see cref="EffectiveMaxRequestMemoryBytes"/>.</summary>
    public int? MaxRequestMemoryMb { get; set; }

    /// <summary>Unread reply bytes one client may hold, in MiB (Redis's client-output-buffer-limit); unset: <see cref="EffectiveMaxReplyBufferBytes"/>.</summary>
    public int? MaxReplyBufferMb { get; set; }

    /// <summary>This node's name; its actor id in version vectors derives from it.</summary>
    public string NodeId { get; set; } = Environment.MachineName;

    /// <summary>Peer addresses (host:port of their --peer-listen) to join through, comma-separated; none: a single node, unless --peer-listen is given.</summary>
    public string Seeds { get; set; } = "";

    /// <summary>Internode address, host:port; unset: the client port + 10000 on the client host. Setting it (or --seeds) makes the node a cluster node.</summary>
    public string? PeerListen { get; set; }

    /// <summary>The internode address other nodes are told to reach this node at, host:port (Cassandra's broadcast_address); unset: the peer-listen address.</summary>
    /// <remarks>For a node behind NAT, a port forward or a proxy, and for a node listening on a wildcard address (0.0.0.0), which is no address to give others.</remarks>
    public string? PeerAdvertise { get; set; }

    /// <summary>This node's data center.</summary>
    public string Dc { get; set; } = "dc1";

    /// <summary>This node's rack.</summary>
    public string Rack { get; set; } = "rack1";

    /// <summary>Relative capacity: the node's share of the ring (virtual nodes in proportion).</summary>
    public int Capacity { get; set; } = 1;

    /// <summary>Replicas per data center: <c>3</c>, or <c>dc1:3,dc2:2</c>; unset: 3 in a cluster.</summary>
    public string? Replication { get; set; }

    /// <summary>Level of plain reads in a cluster.</summary>
    public string Read { get; set; } = "quorum";

    /// <summary>Level of plain writes in a cluster.</summary>
    public string Write { get; set; } = "quorum";

    /// <summary>Strict quorum for every request: only a key's own replicas count, never a stand-in (sloppy quorum, the default).</summary>
    public bool StrictQuorum { get; set; }

    /// <summary>Bytes of hints per second a node hands over to a returning replica; 0: unthrottled.</summary>
    public long HintRate { get; set; } = 4L * 1024 * 1024;

    /// <summary>How long hints for a DOWN replica are kept (a duration: 90s, 30m, 3h, 2d); older ones are dropped and counted.</summary>
    public string HintWindow { get; set; } = "3h";

    /// <summary>How long a delete's tombstone is kept in a cluster before it is removed (a duration, 0: for ever); longer than the hint window and the repair interval.</summary>
    public string TombstoneGrace { get; set; } = "10d";

    /// <summary>Bytes per second a node streams in when it gains ranges (joining, or taking over a leaver's); 0: unthrottled.</summary>
    public long StreamRate { get; set; } = 64L * 1024 * 1024;

    /// <summary>Cleanup runs by itself this long after a membership change completed (a duration; 0: only on KV.CLEANUP).</summary>
    public string CleanupDelay { get; set; } = "0";

    /// <summary>A DOWN node whose tokens this new node takes over (serve --replace); empty: none.</summary>
    public string? Replace { get; set; }

    /// <summary>The cluster's name: nodes of another cluster are refused at the handshake.</summary>
    public string ClusterName { get; set; } = "ringkv";

    /// <summary>Whether the node runs as a cluster node (it has seeds or an internode address).</summary>
    public bool IsClusterNode => !string.IsNullOrWhiteSpace(Seeds) || !string.IsNullOrWhiteSpace(PeerListen);

    /// <summary>The seed addresses.</summary>
    public string[] SeedList() => Seeds.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>The internode address: <see cref="PeerListen"/>, or the client port + 10000 on the client host.</summary>
    public IPEndPoint PeerEndPoint()
    {
        if (!string.IsNullOrWhiteSpace(PeerListen))
        {
            return IPEndPoint.TryParse(PeerListen.Replace("localhost:", "127.0.0.1:", StringComparison.OrdinalIgnoreCase), out var peer) && peer.Port != 0
                ? peer
                : throw new FormatException($"invalid peer-listen address '{PeerListen}': expected host:port, e.g. 127.0.0.1:17379");
        }

        var client = ListenEndPoint();
        return client.Port + 10_000 <= 65_535
            ? new IPEndPoint(client.Address, client.Port + 10_000)
            : throw new FormatException($"the client port {client.Port} + 10000 is not a port: give --peer-listen");
    }

    /// <summary>The internode address gossiped to other nodes: <see cref="PeerAdvertise"/>, or <see cref="PeerEndPoint"/>.</summary>
    public IPEndPoint PeerAdvertiseEndPoint()
    {
        if (string.IsNullOrWhiteSpace(PeerAdvertise))
        {
            return PeerEndPoint();
        }

        if (!IPEndPoint.TryParse(PeerAdvertise.Replace("localhost:", "127.0.0.1:", StringComparison.OrdinalIgnoreCase), out var advertised) || advertised.Port == 0)
        {
            throw new FormatException($"invalid peer-advertise address '{PeerAdvertise}': expected host:port where other nodes reach this one, e.g. 10.0.0.5:17379");
        }

        return advertised.Address.Equals(IPAddress.Any) || advertised.Address.Equals(IPAddress.IPv6Any)
            ? throw new FormatException($"invalid peer-advertise address '{PeerAdvertise}': a wildcard address is not one other nodes can reach; give this node's own address")
            : advertised;
    }

    /// <summary>The node's name in the cluster: --node-id when given, else its advertised peer address (host names repeat across processes of one machine).</summary>
    public string ClusterNodeId() => NodeId != Environment.MachineName ? NodeId : PeerAdvertiseEndPoint().ToString();

    /// <summary>Parses a level setting.</summary>
    public static Core.Consistency.ConsistencyLevel Level(string text, string setting) =>
        Core.Consistency.ConsistencyLevel.TryParse(System.Text.Encoding.UTF8.GetBytes(text.Trim()), out var level)
            ? level
            : throw new FormatException($"invalid {setting} level '{text}': expected ONE, TWO, THREE, QUORUM, LOCAL_QUORUM, EACH_QUORUM, ALL or a number");

    /// <summary>Builds options from configuration keys named like the properties (case-insensitive).</summary>
    /// <remarks>
    /// Converts each value itself rather than through the configuration binder, whose errors name .NET types
    /// ("to type 'System.Int32'"): a bad value, from a flag, a variable or the file alike, gets a
    /// <see cref="FormatException"/> in plain words naming the setting.
    /// </remarks>
    public static ServerOptions From(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var options = new ServerOptions();
        foreach (var property in typeof(ServerOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.CanWrite && configuration[property.Name] is { } text)
            {
                property.SetValue(options, Convert(property, text));
            }
        }

        return options;
    }

    /// <summary>The name users know a setting by: its flag without dashes (<c>max-key-bytes</c> for MaxKeyBytes).</summary>
    public static string SettingName(string property) => property switch
    {
        nameof(DataDirectory) => "data-dir",
        nameof(EnableFlushAll) => "enable-flushall",
        _ => KebabCase(property),
    };

    private static string KebabCase(string name)
    {
        var text = new System.Text.StringBuilder(name.Length + 4);
        for (var i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0)
            {
                text.Append('-');
            }

            text.Append(char.ToLowerInvariant(name[i]));
        }

        return text.ToString();
    }

    private static object Convert(PropertyInfo property, string text)
    {
        var name = SettingName(property.Name);
        var type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType; // int? settings: unset means derived
        if (type == typeof(string))
        {
            return text;
        }

        if (type == typeof(int) || type == typeof(long))
        {
            if (!long.TryParse(text.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number))
            {
                throw new FormatException($"{name} must be a whole number, not '{text}'");
            }

            if (type == typeof(int))
            {
                return number is >= int.MinValue and <= int.MaxValue ? (int)number : throw new FormatException($"{name} '{text}' is too large");
            }

            return number;
        }

        if (type == typeof(bool))
        {
            return bool.TryParse(text.Trim(), out var flag) ? flag : throw new FormatException($"{name} must be true or false, not '{text}'");
        }

        throw new InvalidOperationException($"ServerOptions.{property.Name} has a type the configuration reader does not convert");
    }

    /// <summary>Parses <see cref="Listen"/>.</summary>
    public IPEndPoint ListenEndPoint()
    {
        if (!IPEndPoint.TryParse(Listen == "localhost" ? "127.0.0.1" : Listen.Replace("localhost:", "127.0.0.1:", StringComparison.OrdinalIgnoreCase), out var endPoint)
            || endPoint.Port == 0 && !Listen.EndsWith(":0", StringComparison.Ordinal))
        {
            throw new FormatException($"invalid listen address '{Listen}': expected host:port, e.g. 127.0.0.1:7379");
        }

        return endPoint;
    }

    /// <summary>Parses <see cref="MemcachedListen"/>; null when no memcached port is asked for.</summary>
    public IPEndPoint? MemcachedEndPoint()
    {
        if (string.IsNullOrWhiteSpace(MemcachedListen))
        {
            return null;
        }

        var text = MemcachedListen.Trim();
        if (!IPEndPoint.TryParse(text.Replace("localhost:", "127.0.0.1:", StringComparison.OrdinalIgnoreCase), out var endPoint)
            || (endPoint.Port == 0 && !text.EndsWith(":0", StringComparison.Ordinal)))
        {
            throw new FormatException($"invalid memcached-listen address '{MemcachedListen}': expected host:port, e.g. 127.0.0.1:11211");
        }

        return endPoint;
    }

    /// <summary>Parses <see cref="Sync"/>.</summary>
    public SyncPolicy SyncPolicy() => Storage.SyncPolicy.Parse(Sync);

    /// <summary>Parses <see cref="Compression"/>.</summary>
    public CompressionKind CompressionKind() => Compression.Trim().ToLowerInvariant() switch
    {
        "lz4" => Storage.CompressionKind.Lz4,
        "zstd" => Storage.CompressionKind.Zstd,
        "none" => Storage.CompressionKind.None,
        _ => throw new FormatException($"invalid compression '{Compression}': expected lz4, zstd or none"),
    };

    /// <summary>The per-connection request limit in bytes.</summary>
    /// <remarks>
    /// Default: a quarter of the memory budget (128 MiB at the default 512), at most 1 GiB (Redis's default), and
    /// never below <see cref="MinRequestBytes"/>, what one SET of the largest key and value needs. A request that
    /// does not fit the budget's quarter cannot be stored within it either: the engine holds a write in its
    /// memtables, which get a quarter of the budget.
    /// </remarks>
    public long EffectiveMaxRequestBytes() => MaxRequestMb is { } mb
        ? mb * Mib
        : Math.Max(MinRequestBytes(), Math.Min(MemoryMb * Mib / 4, 1024 * Mib));

    /// <summary>The request budget of all connections in bytes.</summary>
    /// <remarks>Default: half of the memory budget (256 MiB at 512), and at least <see cref="EffectiveMaxRequestBytes"/>, so one request of the largest size always fits.</remarks>
    public long EffectiveMaxRequestMemoryBytes() => MaxRequestMemoryMb is { } mb
        ? mb * Mib
        : Math.Max(EffectiveMaxRequestBytes(), MemoryMb * Mib / 2);

    /// <summary>How often a cluster node runs an anti-entropy pass: a duration (30s, 10m, 1h, 500ms; a bare number is seconds); 0 turns scheduled passes off.</summary>
    public string RepairInterval { get; set; } = "1h";

    /// <summary>Anti-entropy's byte budget, bytes per second (messages sent and received by its passes); 0: not throttled.</summary>
    public long RepairRate { get; set; } = 16 * Mib;

    /// <summary><see cref="RepairInterval"/> parsed; throws <see cref="FormatException"/> naming the setting.</summary>
    public TimeSpan RepairIntervalSpan() => Duration(RepairInterval, "repair-interval");

    /// <summary>A duration: a number with a unit (ms, s, m, h, d), or a bare number of seconds; never negative.</summary>
    public static TimeSpan Duration(string text, string setting)
    {
        var t = (text ?? "").Trim().ToLowerInvariant();
        var (digits, unit) = t.EndsWith("ms", StringComparison.Ordinal) ? (t[..^2], TimeSpan.FromMilliseconds(1))
            : t.EndsWith('s') ? (t[..^1], TimeSpan.FromSeconds(1))
            : t.EndsWith('m') ? (t[..^1], TimeSpan.FromMinutes(1))
            : t.EndsWith('h') ? (t[..^1], TimeSpan.FromHours(1))
            : t.EndsWith('d') ? (t[..^1], TimeSpan.FromDays(1))
            : (t, TimeSpan.FromSeconds(1));
        if (!double.TryParse(digits, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var count) || count > 3650 * TimeSpan.FromDays(1) / unit)
        {
            throw new FormatException($"{setting} '{text}' is not a duration: expected e.g. 0, 30s, 10m, 1h or 500ms (a bare number is seconds), at most 3650 days");
        }

        return unit * count;
    }

    /// <summary>The per-client limit on unread replies in bytes.</summary>
    /// <remarks>Default: an eighth of the memory budget (64 MiB at 512), and at least four times the largest value plus 1 MiB, so a client that reads is never held up by one GET.</remarks>
    public long EffectiveMaxReplyBufferBytes() => MaxReplyBufferMb is { } mb
        ? mb * Mib
        : Math.Max(MemoryMb * Mib / 8, (4L * MaxValueBytes) + Mib);

    /// <summary>The least a request limit may be: one SET of the largest key and value, plus 1 MiB for the command and headers.</summary>
    private long MinRequestBytes() => (long)MaxKeyBytes + MaxValueBytes + Mib;

    private const long Mib = 1024 * 1024;

    /// <summary>Checks every setting; throws <see cref="FormatException"/> naming the first bad one.</summary>
    public void Validate()
    {
        _ = ListenEndPoint();
        _ = MemcachedEndPoint();
        _ = SyncPolicy();
        _ = CompressionKind();
        Require(MemoryMb >= 8, "memory-mb must be at least 8 (MiB)");
        Require(MaxKeyBytes is >= 1 and <= 1 << 20, "max-key-bytes must be between 1 and 1048576 (bytes)");
        Require(MaxValueBytes is >= 0 and <= 256 << 20, "max-value-bytes must be between 0 and 268435456 (bytes)");
        Require(MaxClients >= 1, "max-clients must be at least 1");
        Require(MaxVersionVectorEntries >= 1, "max-version-vector-entries must be at least 1");
        Require(SlowlogLogSlowerThan >= -1, "slowlog-log-slower-than must be at least -1 (microseconds; -1 turns it off, 0 logs every command)");
        Require(SlowlogMaxLen >= 0, "slowlog-max-len must be at least 0");
        Require(LatencyMonitorThreshold >= 0, "latency-monitor-threshold must be at least 0 (milliseconds; 0 turns it off)");
        Require(MaxRequestMb is null || (MaxRequestMb <= 1024 && MaxRequestMb * Mib >= MinRequestBytes()),
            $"max-request-mb must be at most 1024 and hold one SET of the largest key and value (at least {(MinRequestBytes() + Mib - 1) / Mib})");
        Require(MaxRequestMemoryMb is null || MaxRequestMemoryMb * Mib >= EffectiveMaxRequestBytes(),
            $"max-request-memory-mb must be at least max-request-mb ({EffectiveMaxRequestBytes() / Mib})");
        Require(MaxReplyBufferMb is null || (MaxReplyBufferMb >= 1 && MaxReplyBufferMb * Mib > 2L * MaxValueBytes),
            "max-reply-buffer-mb must be at least 1 and hold two replies of the largest value (max-value-bytes)");
        Require(!string.IsNullOrWhiteSpace(DataDirectory), "data-dir must not be empty");
        Require(!string.IsNullOrWhiteSpace(NodeId), "node-id must not be empty");
        Require(Capacity is >= 1 and <= 64, "capacity must be between 1 and 64");
        Require(!string.IsNullOrWhiteSpace(Dc) && !string.IsNullOrWhiteSpace(Rack), "dc and rack must not be empty");
        _ = Level(Read, "read");
        _ = Level(Write, "write");
        _ = RepairIntervalSpan();
        Require(RepairRate >= 0, "repair-rate must be 0 (not throttled) or a positive number of bytes per second");
        Require(RepairRate is 0 or >= 1024, "repair-rate must be at least 1024 bytes per second (or 0: not throttled): a lower budget could not carry one repair message in a second");
        Require(HintRate >= 0, "hint-rate must be 0 (unthrottled) or more bytes per second");
        Require(StreamRate is 0 or >= 65536, "stream-rate must be 0 (unthrottled) or at least 65536 bytes per second (one stream page a second)");
        Require(Duration(CleanupDelay, "cleanup-delay") >= TimeSpan.Zero, "cleanup-delay must not be negative");
        Require(Replace is null || !string.IsNullOrWhiteSpace(Replace), "replace must name a node id");
        Require(Duration(HintWindow, "hint-window") > TimeSpan.Zero, "hint-window must be longer than 0");
        var grace = Duration(TombstoneGrace, "tombstone-grace");
        Require(grace == TimeSpan.Zero || grace > Duration(HintWindow, "hint-window"),
            $"tombstone-grace ({TombstoneGrace}) must be longer than hint-window ({HintWindow}): a hint handed over after its key's tombstone is gone would bring the deleted value back");
        Require(grace == TimeSpan.Zero || RepairIntervalSpan() == TimeSpan.Zero || grace > RepairIntervalSpan(),
            $"tombstone-grace ({TombstoneGrace}) must be longer than repair-interval ({RepairInterval}): a replica that missed a delete must get its tombstone from a repair pass before the tombstone is removed, or the deleted value comes back");
        if (IsClusterNode)
        {
            Require(ListenEndPoint().Port != 0, "a cluster node needs a fixed listen port (not 0): the cluster tells clients and peers where it is");
            _ = PeerEndPoint();
            _ = PeerAdvertiseEndPoint();
            Require(PeerEndPoint().Port != ListenEndPoint().Port || !PeerEndPoint().Address.Equals(ListenEndPoint().Address), "peer-listen must differ from listen");
            foreach (var seed in SeedList())
            {
                Require(IPEndPoint.TryParse(seed, out _), $"invalid seed '{seed}': expected host:port of a node's peer-listen address");
            }
        }
    }

    private static void Require(bool ok, string message)
    {
        if (!ok)
        {
            throw new FormatException(message);
        }
    }

    /// <inheritdoc/>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"listen={Listen} data-dir={DataDirectory} sync={Sync} memory-mb={MemoryMb} compression={Compression} max-key-bytes={MaxKeyBytes} max-value-bytes={MaxValueBytes} max-clients={MaxClients} max-request-mb={EffectiveMaxRequestBytes() / Mib} max-request-memory-mb={EffectiveMaxRequestMemoryBytes() / Mib} max-reply-buffer-mb={EffectiveMaxReplyBufferBytes() / Mib} auth={(Password is null ? "off" : "on")}");
}
