using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Unicode;

namespace RingKV.Cluster.Membership;

/// <summary>Encodes and decodes membership messages; the decoder never throws on hostile bytes and says why it refused.</summary>
/// <remarks>
/// Stateless and thread-safe. Layout (varint = LEB128 unsigned, <see cref="Core.Encoding.Varint"/>; docs/membership.md is the spec):
/// <code>
/// message   := format:u8 (=1) kind:u8 (GossipMessageKind) body      nothing may follow
/// ping      := heartbeat fromAddress:str sentAtTicks:i64le
/// pong      := heartbeat fromAddress:str echoSentAtTicks:i64le
/// syn       := from:str fromAddress:str seedAddress:str count:varint digest*
/// ack       := from:str fromAddress:str seedAddress:str count record* count heartbeat* count digest*
/// ack2      := from:str fromAddress:str count record* count heartbeat*
/// record    := node:str generation version stateVersion state:u8 dataCenter:str rack:str capacity:varint32
///              clientAddress:str peerAddress:str count token:u64le* load suspects
/// heartbeat := node:str generation version stateVersion load suspects
/// digest    := node:str generation version                  (generation, version: varints)
/// load      := storageBytes:varint operationsPerSecond:varint p99LatencyMicros:varint
/// suspects  := count node:str*                              strictly ascending by ordinal
/// str       := length:varint (&lt;= 255) UTF-8 bytes
/// </code>
/// Varints must take their shortest form, so a message has exactly one encoding.
/// Tokens are fixed 8 bytes: uniformly spread over 64 bits, as a varint they would take 10. Every count is checked
/// against its limit and against the bytes left before anything is allocated. An incompatible change bumps
/// <see cref="FormatVersion"/>.
/// </remarks>
internal static class GossipCodec
{
    /// <summary>The format version this codec writes and reads.</summary>
    public const byte FormatVersion = 1;

    /// <summary>Most UTF-8 bytes in any string (node names, addresses, data center, rack).</summary>
    public const int MaxStringBytes = 255;

    /// <summary>Most nodes in any list of a message (digests, records, heartbeats, requests, suspects).</summary>
    public const int MaxNodes = 1024;

    /// <summary>Most tokens in one record.</summary>
    public const int MaxTokens = 4096;

    // Least bytes an element can take: refuse a count that the remaining bytes cannot hold before allocating for it.
    private const int MinStringBytes = 2;
    private const int MinDigestBytes = MinStringBytes + 2;
    private const int MinHeartbeatBytes = MinStringBytes + 3 + 3 + 1;
    private const int MinRecordBytes = MinStringBytes + 3 + 1 + 1 + 1 + 1 + MinStringBytes + MinStringBytes + 1 + 3 + 1;

    /// <summary>Writes <paramref name="message"/> to <paramref name="destination"/>.</summary>
    public static void Encode(GossipMessage message, IBufferWriter<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(destination);
        var w = new Writer(destination);
        w.Byte(FormatVersion);
        w.Byte((byte)message.Kind);
        switch (message)
        {
            case GossipPing ping:
                w.Heartbeat(ping.Heartbeat);
                w.String(ping.FromAddress);
                w.Int64(ping.SentAtTicks);
                break;
            case GossipPong pong:
                w.Heartbeat(pong.Heartbeat);
                w.String(pong.FromAddress);
                w.Int64(pong.EchoSentAtTicks);
                break;
            case GossipSyn syn:
                w.String(syn.From.Name);
                w.String(syn.FromAddress);
                w.String(syn.SeedAddress);
                w.Digests(syn.Digests);
                break;
            case GossipAck ack:
                w.String(ack.From.Name);
                w.String(ack.FromAddress);
                w.String(ack.SeedAddress);
                w.Records(ack.Records);
                w.Heartbeats(ack.Heartbeats);
                w.Digests(ack.Requests);
                break;
            case GossipAck2 ack2:
                w.String(ack2.From.Name);
                w.String(ack2.FromAddress);
                w.Records(ack2.Records);
                w.Heartbeats(ack2.Heartbeats);
                break;
            default:
                throw new ArgumentException($"not a membership message: {message.GetType().Name}", nameof(message));
        }
    }

    /// <summary>Encodes <paramref name="message"/> into a fresh array.</summary>
    public static byte[] Encode(GossipMessage message)
    {
        var buffer = new ArrayBufferWriter<byte>();
        Encode(message, buffer);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Decodes exactly one message from <paramref name="source"/>; false, with the reason in <paramref name="error"/>, on any defect.</summary>
    /// <remarks>Never throws on any input; allocates only for what the bytes really hold.</remarks>
    public static bool TryDecode(ReadOnlySpan<byte> source, [NotNullWhen(true)] out GossipMessage? message, out GossipDecodeError error)
    {
        var r = new Reader(source);
        message = null;
        if (!r.Byte(out var format, "format version"))
        {
            error = r.Error;
            return false;
        }

        if (format != FormatVersion)
        {
            error = new GossipDecodeError(GossipDecodeStatus.UnsupportedFormat, $"format version {format}, this codec reads {FormatVersion}");
            return false;
        }

        if (!r.Byte(out var kind, "kind"))
        {
            error = r.Error;
            return false;
        }

        var decoded = (GossipMessageKind)kind switch
        {
            GossipMessageKind.Ping => DecodePing(ref r),
            GossipMessageKind.Pong => DecodePong(ref r),
            GossipMessageKind.Syn => DecodeSyn(ref r),
            GossipMessageKind.Ack => DecodeAck(ref r),
            GossipMessageKind.Ack2 => DecodeAck2(ref r),
            _ => r.Fail<GossipMessage>(GossipDecodeStatus.UnknownKind, $"kind {kind} at byte 1"),
        };
        if (decoded is null)
        {
            error = r.Error;
            return false;
        }

        if (!r.AtEnd)
        {
            error = new GossipDecodeError(GossipDecodeStatus.TrailingBytes, $"{source.Length - r.Position} bytes after the {decoded.Kind} message ending at byte {r.Position}");
            return false;
        }

        message = decoded;
        error = GossipDecodeError.None;
        return true;
    }

    private static GossipPing? DecodePing(ref Reader r)
    {
        if (r.Heartbeat(out var heartbeat) && r.String(out var fromAddress, "ping sender address", allowEmpty: false) && r.Int64(out var sentAt, "ping time"))
        {
            return new GossipPing(heartbeat, fromAddress, sentAt);
        }

        return null;
    }

    private static GossipPong? DecodePong(ref Reader r)
    {
        if (r.Heartbeat(out var heartbeat) && r.String(out var fromAddress, "pong sender address", allowEmpty: false) && r.Int64(out var echo, "pong echoed time"))
        {
            return new GossipPong(heartbeat, fromAddress, echo);
        }

        return null;
    }

    private static GossipSyn? DecodeSyn(ref Reader r)
    {
        if (r.Node(out var from, "syn sender")
            && r.String(out var fromAddress, "syn sender address", allowEmpty: false)
            && r.String(out var seed, "syn seed address", allowEmpty: true)
            && r.Digests(out var digests, "syn digests"))
        {
            return new GossipSyn(from, fromAddress, seed, digests);
        }

        return null;
    }

    private static GossipAck? DecodeAck(ref Reader r)
    {
        if (r.Node(out var from, "ack sender")
            && r.String(out var fromAddress, "ack sender address", allowEmpty: false)
            && r.String(out var seed, "ack seed address", allowEmpty: true)
            && r.Records(out var records)
            && r.Heartbeats(out var heartbeats)
            && r.Digests(out var requests, "ack requests"))
        {
            return new GossipAck(from, fromAddress, seed, records, heartbeats, requests);
        }

        return null;
    }

    private static GossipAck2? DecodeAck2(ref Reader r)
    {
        if (r.Node(out var from, "ack2 sender")
            && r.String(out var fromAddress, "ack2 sender address", allowEmpty: false)
            && r.Records(out var records)
            && r.Heartbeats(out var heartbeats))
        {
            return new GossipAck2(from, fromAddress, records, heartbeats);
        }

        return null;
    }

    private readonly ref struct Writer(IBufferWriter<byte> destination)
    {
        public void Byte(byte value)
        {
            destination.GetSpan(1)[0] = value;
            destination.Advance(1);
        }

        public void Varint(ulong value)
        {
            var written = Core.Encoding.Varint.Write(destination.GetSpan(Core.Encoding.Varint.MaxLength64), value);
            destination.Advance(written);
        }

        public void Int64(long value)
        {
            BinaryPrimitives.WriteInt64LittleEndian(destination.GetSpan(8), value);
            destination.Advance(8);
        }

        public void String(string value)
        {
            var length = Encoding.UTF8.GetByteCount(value);
            if (length > MaxStringBytes)
            {
                throw new ArgumentException($"\"{value}\" is longer than {MaxStringBytes} UTF-8 bytes");
            }

            Varint((ulong)length);
            var written = Encoding.UTF8.GetBytes(value, destination.GetSpan(length));
            destination.Advance(written);
        }

        public void Load(LoadFigures load)
        {
            Varint(load.StorageBytes);
            Varint(load.OperationsPerSecond);
            Varint(load.P99LatencyMicros);
            Varint(load.CpuPermille);
        }

        public void Suspects(ImmutableArray<NodeId> suspects)
        {
            Varint((ulong)suspects.Length);
            foreach (var suspect in suspects)
            {
                String(suspect.Name);
            }
        }

        public void Heartbeat(HeartbeatUpdate heartbeat)
        {
            String(heartbeat.Node.Name);
            Varint(heartbeat.Generation);
            Varint(heartbeat.Version);
            Varint(heartbeat.StateVersion);
            Load(heartbeat.Load);
            Suspects(heartbeat.Suspects);
        }

        public void Heartbeats(ImmutableArray<HeartbeatUpdate> heartbeats)
        {
            Varint((ulong)heartbeats.Length);
            foreach (var heartbeat in heartbeats)
            {
                Heartbeat(heartbeat);
            }
        }

        public void Record(NodeRecord record)
        {
            String(record.Id.Name);
            Varint(record.Generation);
            Varint(record.Version);
            Varint(record.StateVersion);
            Byte((byte)record.State);
            String(record.DataCenter);
            String(record.Rack);
            Varint(record.Capacity);
            String(record.ClientAddress);
            String(record.PeerAddress);
            Varint((ulong)record.Tokens.Length);
            foreach (var token in record.Tokens)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(destination.GetSpan(8), token);
                destination.Advance(8);
            }

            Load(record.Load);
            Suspects(record.Suspects);
        }

        public void Records(ImmutableArray<NodeRecord> records)
        {
            Varint((ulong)records.Length);
            foreach (var record in records)
            {
                Record(record);
            }
        }

        public void Digests(ImmutableArray<GossipDigest> digests)
        {
            Varint((ulong)digests.Length);
            foreach (var digest in digests)
            {
                String(digest.Node.Name);
                Varint(digest.Generation);
                Varint(digest.Version);
            }
        }
    }

    /// <summary>A cursor over the bytes; each read returns false and records the first error instead of throwing.</summary>
    private ref struct Reader(ReadOnlySpan<byte> source)
    {
        private readonly ReadOnlySpan<byte> _source = source;

        public int Position { get; private set; }

        public GossipDecodeError Error { get; private set; }

        public readonly bool AtEnd => Position == _source.Length;

        private readonly int Left => _source.Length - Position;

        public T? Fail<T>(GossipDecodeStatus status, string detail)
            where T : class
        {
            Error = new GossipDecodeError(status, detail);
            return null;
        }

        public bool Byte(out byte value, string field)
        {
            if (Left < 1)
            {
                value = 0;
                return Refuse(GossipDecodeStatus.Truncated, $"{field} at byte {Position}: no bytes left");
            }

            value = _source[Position++];
            return true;
        }

        public bool Int64(out long value, string field)
        {
            if (Left < 8)
            {
                value = 0;
                return Refuse(GossipDecodeStatus.Truncated, $"{field} at byte {Position}: 8 bytes needed, {Left} left");
            }

            value = BinaryPrimitives.ReadInt64LittleEndian(_source.Slice(Position, 8));
            Position += 8;
            return true;
        }

        public bool Varint(out ulong value, string field)
        {
            if (Core.Encoding.Varint.TryRead(_source[Position..], out value, out var length))
            {
                // Only the shortest form, so one message has one encoding; and a tenth byte holds bit 63 alone (more would not fit 64 bits).
                if (length != Core.Encoding.Varint.Length(value))
                {
                    return Refuse(GossipDecodeStatus.BadVarint, $"{field} at byte {Position}: {length}-byte varint for {value}, not the shortest form");
                }

                if (length == Core.Encoding.Varint.MaxLength64 && _source[Position + length - 1] > 1)
                {
                    return Refuse(GossipDecodeStatus.BadVarint, $"{field} at byte {Position}: varint does not fit 64 bits");
                }

                Position += length;
                return true;
            }

            // TryRead refuses both a varint cut short and one longer than ten bytes: tell them apart for the error.
            var status = Left < Core.Encoding.Varint.MaxLength64 && AllContinuation(_source[Position..]) ? GossipDecodeStatus.Truncated : GossipDecodeStatus.BadVarint;
            return Refuse(status, $"{field} at byte {Position}: {(status == GossipDecodeStatus.Truncated ? "varint cut short" : "varint longer than ten bytes")}");
        }

        public bool Varint32(out uint value, string field)
        {
            var at = Position;
            if (!Varint(out var wide, field))
            {
                value = 0;
                return false;
            }

            if (wide > uint.MaxValue)
            {
                value = 0;
                return Refuse(GossipDecodeStatus.BadVarint, $"{field} at byte {at}: {wide} does not fit 32 bits");
            }

            value = (uint)wide;
            return true;
        }

        public bool Count(out int count, int max, int minElementBytes, string field)
        {
            var at = Position;
            count = 0;
            if (!Varint(out var wide, field + " count"))
            {
                return false;
            }

            if (wide > (ulong)max)
            {
                return Refuse(GossipDecodeStatus.LimitExceeded, $"{field} count at byte {at}: {wide}, at most {max}");
            }

            if (wide * (ulong)minElementBytes > (ulong)Left)
            {
                return Refuse(GossipDecodeStatus.Truncated, $"{field} count at byte {at}: {wide} cannot fit the {Left} bytes left");
            }

            count = (int)wide;
            return true;
        }

        public bool String(out string value, string field, bool allowEmpty)
        {
            value = "";
            var at = Position;
            if (!Varint(out var length, field + " length"))
            {
                return false;
            }

            if (length > MaxStringBytes)
            {
                return Refuse(GossipDecodeStatus.LimitExceeded, $"{field} at byte {at}: {length} bytes, at most {MaxStringBytes}");
            }

            if (length == 0 && !allowEmpty)
            {
                return Refuse(GossipDecodeStatus.InvalidValue, $"{field} at byte {at}: empty");
            }

            if ((ulong)Left < length)
            {
                return Refuse(GossipDecodeStatus.Truncated, $"{field} at byte {at}: {length} bytes declared, {Left} left");
            }

            var bytes = _source.Slice(Position, (int)length);
            if (!Utf8.IsValid(bytes))
            {
                return Refuse(GossipDecodeStatus.InvalidText, $"{field} at byte {at}: not valid UTF-8");
            }

            value = Encoding.UTF8.GetString(bytes);
            Position += (int)length;
            return true;
        }

        public bool Node(out NodeId node, string field)
        {
            node = default;
            var at = Position;
            if (!String(out var name, field, allowEmpty: false))
            {
                return false;
            }

            if (string.IsNullOrWhiteSpace(name))
            {
                return Refuse(GossipDecodeStatus.InvalidValue, $"{field} at byte {at}: a node name cannot be blank");
            }

            node = new NodeId(name);
            return true;
        }

        public bool Versions(out ulong generation, out ulong version, out ulong stateVersion, string field)
        {
            version = 0;
            stateVersion = 0;
            var at = Position;
            if (!Varint(out generation, field + " generation") || !Varint(out version, field + " version") || !Varint(out stateVersion, field + " state version"))
            {
                return false;
            }

            if (generation == 0 || stateVersion == 0 || stateVersion > version)
            {
                return Refuse(GossipDecodeStatus.InvalidValue, $"{field} at byte {at}: generation {generation}, version {version}, state version {stateVersion} (need generation >= 1 and 1 <= state version <= version)");
            }

            return true;
        }

        public bool Load(out LoadFigures load, string field)
        {
            load = default;
            if (!Varint(out var storage, field + " storage bytes") || !Varint(out var ops, field + " operations per second") || !Varint(out var p99, field + " p99 latency")
                || !Varint(out var cpu, field + " cpu"))
            {
                return false;
            }

            load = new LoadFigures(storage, ops, p99, cpu);
            return true;
        }

        public bool Suspects(NodeId self, out ImmutableArray<NodeId> suspects, string field)
        {
            suspects = [];
            if (!Count(out var count, MaxNodes, MinStringBytes, field))
            {
                return false;
            }

            if (count == 0)
            {
                return true;
            }

            var builder = ImmutableArray.CreateBuilder<NodeId>(count);
            for (var i = 0; i < count; i++)
            {
                var at = Position;
                if (!Node(out var suspect, field))
                {
                    return false;
                }

                if (suspect == self)
                {
                    return Refuse(GossipDecodeStatus.InvalidValue, $"{field} at byte {at}: {self} cannot suspect itself");
                }

                if (i > 0 && builder[i - 1] >= suspect)
                {
                    return Refuse(GossipDecodeStatus.InvalidValue, $"{field} at byte {at}: not strictly ascending ({builder[i - 1]} then {suspect})");
                }

                builder.Add(suspect);
            }

            suspects = builder.MoveToImmutable();
            return true;
        }

        public bool Heartbeat([NotNullWhen(true)] out HeartbeatUpdate? heartbeat)
        {
            heartbeat = null;
            if (!Node(out var node, "heartbeat node")
                || !Versions(out var generation, out var version, out var stateVersion, "heartbeat of " + node)
                || !Load(out var load, "heartbeat load")
                || !Suspects(node, out var suspects, "heartbeat suspects"))
            {
                return false;
            }

            heartbeat = new HeartbeatUpdate(node, generation, version, stateVersion, load, suspects);
            return true;
        }

        public bool Heartbeats(out ImmutableArray<HeartbeatUpdate> heartbeats)
        {
            heartbeats = [];
            if (!Count(out var count, MaxNodes, MinHeartbeatBytes, "heartbeats"))
            {
                return false;
            }

            var builder = ImmutableArray.CreateBuilder<HeartbeatUpdate>(count);
            for (var i = 0; i < count; i++)
            {
                if (!Heartbeat(out var heartbeat))
                {
                    return false;
                }

                builder.Add(heartbeat);
            }

            heartbeats = builder.MoveToImmutable();
            return true;
        }

        public bool Records(out ImmutableArray<NodeRecord> records)
        {
            records = [];
            if (!Count(out var count, MaxNodes, MinRecordBytes, "records"))
            {
                return false;
            }

            var builder = ImmutableArray.CreateBuilder<NodeRecord>(count);
            for (var i = 0; i < count; i++)
            {
                if (!Record(out var record))
                {
                    return false;
                }

                builder.Add(record);
            }

            records = builder.MoveToImmutable();
            return true;
        }

        public bool Digests(out ImmutableArray<GossipDigest> digests, string field)
        {
            digests = [];
            if (!Count(out var count, MaxNodes, MinDigestBytes, field))
            {
                return false;
            }

            var builder = ImmutableArray.CreateBuilder<GossipDigest>(count);
            for (var i = 0; i < count; i++)
            {
                if (!Node(out var node, field + " node") || !Varint(out var generation, field + " generation") || !Varint(out var version, field + " version"))
                {
                    return false;
                }

                builder.Add(new GossipDigest(node, generation, version));
            }

            digests = builder.MoveToImmutable();
            return true;
        }

        private bool Record([NotNullWhen(true)] out NodeRecord? record)
        {
            record = null;
            if (!Node(out var id, "record node") || !Versions(out var generation, out var version, out var stateVersion, "record of " + id))
            {
                return false;
            }

            var stateAt = Position;
            if (!Byte(out var state, "record state"))
            {
                return false;
            }

            if (state is < (byte)NodeState.Joining or > (byte)NodeState.Left)
            {
                return Refuse(GossipDecodeStatus.InvalidValue, $"record state at byte {stateAt}: {state} is no node state");
            }

            if (!String(out var dataCenter, "record data center", allowEmpty: true)
                || !String(out var rack, "record rack", allowEmpty: true)
                || !Varint32(out var capacity, "record capacity")
                || !String(out var clientAddress, "record client address", allowEmpty: false)
                || !String(out var peerAddress, "record peer address", allowEmpty: false)
                || !Count(out var tokenCount, MaxTokens, 8, "record tokens"))
            {
                return false;
            }

            var tokens = new ulong[tokenCount];
            for (var i = 0; i < tokens.Length; i++)
            {
                tokens[i] = BinaryPrimitives.ReadUInt64LittleEndian(_source.Slice(Position, 8));
                Position += 8;
            }

            if (!Load(out var load, "record load") || !Suspects(id, out var suspects, "record suspects"))
            {
                return false;
            }

            record = new NodeRecord(id, generation, version, stateVersion, (NodeState)state, ImmutableCollectionsMarshal.AsImmutableArray(tokens), dataCenter, rack, capacity, clientAddress, peerAddress, load, suspects);
            return true;
        }

        private bool Refuse(GossipDecodeStatus status, string detail)
        {
            Error = new GossipDecodeError(status, detail);
            return false;
        }

        private static bool AllContinuation(ReadOnlySpan<byte> bytes)
        {
            foreach (var b in bytes)
            {
                if (b < 0x80)
                {
                    return false;
                }
            }

            return true;
        }
    }
}
