using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using RingKV.Cluster.Coordination;
using RingKV.Core.Consistency;
using RingKV.Core.Versioning;

namespace RingKV.Cluster.Messages;

/// <summary>Encodes cluster message bodies (the frame payload; the frame carries the kind) and decodes them.</summary>
/// <remarks>
/// Layout of every body: the request id (varint), then the fields in declaration order. Byte strings are a varint length
/// then the bytes; a <see cref="ReplicaRecord"/> is its set (byte string) then its expiry (8 bytes LE, signed); strings are
/// UTF-8 byte strings; lists are a varint count then the items. See docs/formats/cluster-messages.md.
/// Decoding never throws on hostile bytes: it returns false with the reason, and checks every length against the bytes
/// left before allocating.
/// </remarks>
internal static partial class MessageCodec
{
    /// <summary>Writes <paramref name="message"/>'s body.</summary>
    public static void Encode(ClusterMessage message, IBufferWriter<byte> output)
    {
        var w = new Writer(output);
        w.Varint(message.RequestId);
        switch (message)
        {
            case ReplicaReadRequest m:
                w.Bytes(m.Key);
                break;
            case ReplicaReadReply m:
                w.Byte((byte)m.Status);
                w.Record(m.Record);
                w.Text(m.Error);
                break;
            case ReplicaWriteRequest m:
                w.Bytes(m.Key);
                w.Record(m.Record);
                break;
            case HintedWriteRequest m:
                w.Bytes(m.Key);
                w.Record(m.Record);
                w.Text(m.IntendedFor.Name);
                break;
            case HintedReadRequest m:
                w.Bytes(m.Key);
                w.Text(m.IntendedFor.Name);
                break;
            case ReplicaWriteReply m:
                w.Byte((byte)m.Status);
                w.Text(m.Error);
                break;
            case ReplicaScanRequest m:
                w.ScanRange(m.First, m.Last, m.Limit);
                break;
            case ReplicaScanReply m:
                w.ScanPage(m.Status, m.Entries, m.Complete, m.Next, m.Error);
                break;
            case StreamPageRequest m:
                w.ScanRange(m.First, m.Last, m.Limit);
                break;
            case StreamPageReply m:
                w.ScanPage(m.Status, m.Entries, m.Complete, m.Next, m.Error);
                break;
            case StreamProgressRequest m:
                w.Fixed64(m.Signature);
                break;
            case StreamProgressReply m:
                w.Fixed64(m.Signature);
                w.Varint((ulong)m.RangesTotal);
                w.Varint((ulong)m.RangesDone);
                w.Varint((ulong)m.Permille);
                w.Varint((ulong)m.BytesReceived);
                break;
            case ReplicaCountRequest m:
                w.Varint((ulong)m.Ranges.Count);
                foreach (var (first, last) in m.Ranges)
                {
                    w.Fixed64(first);
                    w.Fixed64(last);
                }

                break;
            case ReplicaCountReply m:
                w.Byte((byte)m.Status);
                w.Varint((ulong)m.Keys);
                w.Varint((ulong)m.Expires);
                w.Varint((ulong)m.TtlSumMs);
                w.Text(m.Error);
                break;
            case ReplicaFlushRequest:
                break;
            case ReplicaFlushReply m:
                w.Byte((byte)m.Status);
                w.Text(m.Error);
                break;
            case CoordinateWriteRequest m:
                w.Bytes(m.Key);
                w.Byte((byte)m.Write);
                w.Bytes(m.Value);
                var context = new ArrayBufferWriter<byte>(64);
                SiblingSet.EncodeContext(m.Context, m.Key, context);
                w.Bytes(context.WrittenSpan);
                w.Byte((byte)((byte)m.Consistency.Kind | (m.Consistency.Strict ? StrictBit : 0)));
                w.Varint((ulong)m.Consistency.Count);
                break;
            case CoordinateWriteReply m:
                w.Byte((byte)m.Status);
                w.Text(m.Message);
                w.Varint((ulong)Math.Max(0, m.Acked));
                w.Byte(m.Final ? (byte)1 : (byte)0);
                break;
            case MembershipMessage m:
                w.Bytes(m.Body);
                break;
            case AntiEntropyRootsRequest or AntiEntropyRootsReply or AntiEntropyDescendRequest or AntiEntropyDescendReply or AntiEntropyPushRequest or AntiEntropyPushReply:
                EncodeAntiEntropy(message, w);
                break;
            default:
                throw new ArgumentException($"no encoding for {message.GetType().Name}", nameof(message));
        }
    }

    /// <summary>Reads a body of <paramref name="kind"/>; false with the reason when the bytes are not a valid body.</summary>
    public static bool TryDecode(MessageKind kind, ReadOnlySpan<byte> body, [NotNullWhen(true)] out ClusterMessage? message, [NotNullWhen(false)] out string? error)
    {
        message = null;
        var r = new Reader(body);
        if (!r.Varint(out var id))
        {
            error = "request id cut short";
            return false;
        }

        switch (kind)
        {
            case MessageKind.ReplicaRead when r.Bytes(out var key):
                message = new ReplicaReadRequest(id, key);
                break;
            case MessageKind.ReplicaReadReply when r.Status(out var status) && r.Record(out var record) && r.Text(out var text):
                message = new ReplicaReadReply(id, status, record, text);
                break;
            case MessageKind.ReplicaWrite when r.Bytes(out var key) && r.Record(out var record):
                message = new ReplicaWriteRequest(id, key, record);
                break;
            case MessageKind.HintedWrite when r.Bytes(out var key) && r.Record(out var record) && r.Text(out var intended) && !string.IsNullOrWhiteSpace(intended):
                message = new HintedWriteRequest(id, key, record, new NodeId(intended));
                break;
            case MessageKind.HintedRead when r.Bytes(out var key) && r.Text(out var intended) && !string.IsNullOrWhiteSpace(intended):
                message = new HintedReadRequest(id, key, new NodeId(intended));
                break;
            case MessageKind.ReplicaWriteReply when r.Status(out var status) && r.Text(out var text):
                message = new ReplicaWriteReply(id, status, text);
                break;
            case MessageKind.ReplicaScan when r.Fixed64(out var first) && r.Fixed64(out var last) && r.Varint(out var limit) && limit <= int.MaxValue:
                message = new ReplicaScanRequest(id, first, last, (int)limit);
                break;
            case MessageKind.ReplicaScanReply:
                if (!TryDecodeScanReply(ref r, id, out message))
                {
                    error = "scan reply cut short or malformed";
                    return false;
                }

                break;
            case MessageKind.StreamPage when r.Fixed64(out var first) && r.Fixed64(out var last) && r.Varint(out var limit) && limit <= int.MaxValue:
                message = new StreamPageRequest(id, first, last, (int)limit);
                break;
            case MessageKind.StreamPageReply:
                if (!TryDecodeScanReply(ref r, id, out message, stream: true))
                {
                    error = "stream page cut short or malformed";
                    return false;
                }

                break;
            case MessageKind.StreamProgress when r.Fixed64(out var signature):
                message = new StreamProgressRequest(id, signature);
                break;
            case MessageKind.StreamProgressReply when r.Fixed64(out var signature) && r.Varint(out var total) && total <= int.MaxValue
                && r.Varint(out var done) && done <= total && r.Varint(out var permille) && permille <= 1000 && r.Varint(out var bytes) && bytes <= long.MaxValue:
                message = new StreamProgressReply(id, signature, (int)total, (int)done, (int)permille, (long)bytes);
                break;
            case MessageKind.ReplicaCount:
                if (!r.Varint(out var count) || count > (ulong)r.Remaining / 16)
                {
                    error = "count ranges cut short";
                    return false;
                }

                var ranges = new List<(ulong, ulong)>((int)count);
                for (var i = 0UL; i < count; i++)
                {
                    r.Fixed64(out var first);
                    r.Fixed64(out var last);
                    ranges.Add((first, last));
                }

                message = new ReplicaCountRequest(id, ranges);
                break;
            case MessageKind.ReplicaCountReply when r.Status(out var status) && r.Varint(out var keys) && r.Varint(out var expires) && r.Varint(out var ttl) && r.Text(out var text):
                message = new ReplicaCountReply(id, status, (long)keys, (long)expires, (long)ttl, text);
                break;
            case MessageKind.ReplicaFlush:
                message = new ReplicaFlushRequest(id);
                break;
            case MessageKind.ReplicaFlushReply when r.Status(out var status) && r.Text(out var text):
                message = new ReplicaFlushReply(id, status, text);
                break;
            case MessageKind.CoordinateWrite:
                if (!TryDecodeCoordinateWrite(ref r, id, out message, out error))
                {
                    return false;
                }

                break;
            case MessageKind.CoordinateWriteReply when r.Byte(out var status) && status <= (byte)ClientStatus.Error && r.Text(out var text)
                && r.Varint(out var acked) && acked <= byte.MaxValue && r.Byte(out var final) && final <= 1:
                message = new CoordinateWriteReply(id, (ClientStatus)status, text, (int)acked, final == 1);
                break;
            case MessageKind.Membership when r.Bytes(out var membership):
                message = new MembershipMessage(membership);
                break;
            case >= MessageKind.AntiEntropyRoots and <= MessageKind.AntiEntropyPushReply:
                if (!TryDecodeAntiEntropy(kind, ref r, id, out message, out error))
                {
                    return false;
                }

                break;
            default:
                error = Enum.IsDefined(kind) ? $"{kind} body cut short or malformed" : $"unknown message kind {(byte)kind}";
                return false;
        }

        if (r.Remaining != 0)
        {
            message = null;
            error = $"{kind} body has {r.Remaining} bytes past its end";
            return false;
        }

        error = null;
        return true;
    }

    private static bool TryDecodeCoordinateWrite(ref Reader r, ulong id, [NotNullWhen(true)] out ClusterMessage? message, [NotNullWhen(false)] out string? error)
    {
        message = null;
        if (!r.Bytes(out var key) || !r.Byte(out var write) || !r.Bytes(out var value) || !r.Bytes(out var encodedContext)
            || !r.Byte(out var kind) || !r.Varint(out var count))
        {
            error = "CoordinateWrite body cut short";
            return false;
        }

        if (write is not ((byte)WriteOperation.VersionedPut or (byte)WriteOperation.VersionedDelete or (byte)WriteOperation.Increment))
        {
            error = $"CoordinateWrite of write operation {write}: only versioned writes and increments are forwarded";
            return false;
        }

        if (!SiblingSet.TryDecodeContext(encodedContext, out var context, out var keyTag, out var contextError))
        {
            error = $"CoordinateWrite context: {contextError}";
            return false;
        }

        if (keyTag is { } tag && tag != SiblingSet.ContextKeyTag(key))
        {
            error = "CoordinateWrite context names another key";
            return false;
        }

        if (!TryLevel(kind, count, out var level))
        {
            error = $"CoordinateWrite consistency level ({kind}, {count}) is not one";
            return false;
        }

        message = new CoordinateWriteRequest(id, key, (WriteOperation)write, value, context, level);
        error = null;
        return true;
    }

    /// <summary>The bit of a level's kind byte that says STRICT.</summary>
    private const byte StrictBit = 0x80;

    /// <summary>A consistency level from its kind (STRICT in its top bit) and count as encoded; (Count, 0) is the default level.</summary>
    private static bool TryLevel(byte kind, ulong count, out ConsistencyLevel level)
    {
        if ((kind & StrictBit) != 0)
        {
            var ok = TryLevel((byte)(kind & ~StrictBit), count, out level) && !level.IsDefault;
            level = ok ? level.AsStrict() : default;
            return ok;
        }

        level = default;
        switch ((ConsistencyKind)kind)
        {
            case ConsistencyKind.Count when count <= int.MaxValue:
                level = count == 0 ? default : ConsistencyLevel.OfCount((int)count);
                return true;
            case ConsistencyKind.Quorum when count == 0:
                level = ConsistencyLevel.Quorum;
                return true;
            case ConsistencyKind.LocalQuorum when count == 0:
                level = ConsistencyLevel.LocalQuorum;
                return true;
            case ConsistencyKind.EachQuorum when count == 0:
                level = ConsistencyLevel.EachQuorum;
                return true;
            case ConsistencyKind.All when count == 0:
                level = ConsistencyLevel.All;
                return true;
            default:
                return false;
        }
    }

    private static bool TryDecodeScanReply(ref Reader r, ulong id, [NotNullWhen(true)] out ClusterMessage? message, bool stream = false)
    {
        message = null;
        if (!r.Status(out var status) || !r.Varint(out var count) || count > (ulong)r.Remaining / 10)
        {
            return false;
        }

        var entries = new List<ScanEntry>((int)count);
        for (var i = 0UL; i < count; i++)
        {
            if (!r.Bytes(out var key) || !r.Record(out var record))
            {
                return false;
            }

            entries.Add(new ScanEntry(key, record));
        }

        if (!r.Byte(out var complete) || complete > 1 || !r.Fixed64(out var next) || !r.Text(out var text))
        {
            return false;
        }

        message = stream
            ? new StreamPageReply(id, status, entries, complete == 1, next, text)
            : new ReplicaScanReply(id, status, entries, complete == 1, next, text);
        return true;
    }

    private readonly ref struct Writer(IBufferWriter<byte> output)
    {
        /// <summary>A scan's or a stream page's range: first and last token, then the record limit.</summary>
        public void ScanRange(ulong first, ulong last, int limit)
        {
            Fixed64(first);
            Fixed64(last);
            Varint((ulong)limit);
        }

        /// <summary>A scan page (a scan reply or a stream page): status, the entries, complete, the next token, the error.</summary>
        public void ScanPage(ReplicaStatus status, IReadOnlyList<ScanEntry> entries, bool complete, ulong next, string error)
        {
            Byte((byte)status);
            Varint((ulong)entries.Count);
            foreach (var entry in entries)
            {
                Bytes(entry.Key);
                Record(entry.Record);
            }

            Byte(complete ? (byte)1 : (byte)0);
            Fixed64(next);
            Text(error);
        }

        public void Byte(byte value)
        {
            output.GetSpan(1)[0] = value;
            output.Advance(1);
        }

        public void Varint(ulong value)
        {
            var n = Core.Encoding.Varint.Write(output.GetSpan(Core.Encoding.Varint.MaxLength64), value);
            output.Advance(n);
        }

        public void Fixed64(ulong value)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(output.GetSpan(8), value);
            output.Advance(8);
        }

        public void Bytes(ReadOnlySpan<byte> bytes)
        {
            Varint((ulong)bytes.Length);
            output.Write(bytes);
        }

        public void Text(string text) => Bytes(Encoding.UTF8.GetBytes(text));

        public void Record(ReplicaRecord record)
        {
            Bytes(record.Set);
            Fixed64((ulong)record.ExpiresAtUnixMs);
        }
    }

    private ref struct Reader(ReadOnlySpan<byte> source)
    {
        private ReadOnlySpan<byte> _rest = source;

        public readonly int Remaining => _rest.Length;

        public bool Byte(out byte value)
        {
            value = 0;
            if (_rest.IsEmpty)
            {
                return false;
            }

            value = _rest[0];
            _rest = _rest[1..];
            return true;
        }

        public bool Status(out ReplicaStatus status)
        {
            status = ReplicaStatus.Ok;
            if (!Byte(out var b) || b > (byte)ReplicaStatus.Busy)
            {
                return false;
            }

            status = (ReplicaStatus)b;
            return true;
        }

        public bool Varint(out ulong value)
        {
            if (!Core.Encoding.Varint.TryRead(_rest, out value, out var n))
            {
                return false;
            }

            _rest = _rest[n..];
            return true;
        }

        public bool Fixed64(out ulong value)
        {
            value = 0;
            if (_rest.Length < 8)
            {
                return false;
            }

            value = BinaryPrimitives.ReadUInt64LittleEndian(_rest);
            _rest = _rest[8..];
            return true;
        }

        public bool Bytes(out byte[] bytes)
        {
            bytes = [];
            if (!Varint(out var length) || length > (ulong)_rest.Length)
            {
                return false;
            }

            bytes = _rest[..(int)length].ToArray();
            _rest = _rest[(int)length..];
            return true;
        }

        public bool Text(out string text)
        {
            text = "";
            if (!Bytes(out var bytes))
            {
                return false;
            }

            text = Encoding.UTF8.GetString(bytes);
            return true;
        }

        public bool Record(out ReplicaRecord record)
        {
            record = default;
            if (!Bytes(out var set) || !Fixed64(out var expiry))
            {
                return false;
            }

            record = new ReplicaRecord(set, (long)expiry);
            return true;
        }
    }
}
