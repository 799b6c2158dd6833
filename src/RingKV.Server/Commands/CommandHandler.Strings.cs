using System;
using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Threading.Tasks;
using RingKV.Net.Resp;
using RingKV.Server.Store;

namespace RingKV.Server.Commands;

/// <summary>
/// The string commands beyond GET and SET: APPEND, STRLEN, GETRANGE/SUBSTR, SETRANGE, GETSET, GETBIT, SETBIT, BITCOUNT,
/// LCS, with Redis's reply shapes, index rules and error texts (t_string.c, bitops.c).
/// </summary>
/// <remarks>
/// APPEND, SETRANGE and SETBIT are one <see cref="WriteKind.Modify"/> each: atomic on a single node (the key's stripe is
/// held from the read to the commit), a read at the read level and a write at the write level in a cluster, where two
/// concurrent ones on one key can lose one of them (docs/consistency.md). Their modifier objects are allocated per
/// command: these are not the hot path. A value they would make longer than max-value-bytes is refused and nothing is
/// written.
/// </remarks>
internal sealed partial class CommandHandler
{
    /// <summary>The largest bit offset GETBIT and SETBIT take: 2^32 - 1, as in Redis (its 512 MB string limit).</summary>
    private const long MaxBitOffset = (1L << 32) - 1;

    /// <summary>The most cells LCS's table may have (4 bytes each: 256 MiB); longer pairs are refused.</summary>
    private const long MaxLcsCells = 1L << 26;

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    internal async ValueTask<RespAction> Append(RespCommand c, RespWriter w)
    {
        if (!CheckSizes(w, c[1], c[2].Length))
        {
            return RespAction.Continue;
        }

        var modifier = new AppendModifier(c.GetMemory(2), _node.Options.MaxValueBytes);
        await _store.WriteAsync(WriteRequest.Modify(c.GetMemory(1), modifier, _session.WriteConsistency)).ConfigureAwait(false);
        WriteLengthOrError(w, modifier.Length, modifier.TooLong);
        return RespAction.Continue;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    internal async ValueTask<RespAction> StrLen(RespCommand c, RespWriter w)
    {
        if (!CheckSizes(w, c[1]))
        {
            return RespAction.Continue;
        }

        var value = RentBuffer();
        try
        {
            var read = await _store.ReadAsync(new ReadRequest(c.GetMemory(1), value, _session.ReadConsistency)).ConfigureAwait(false);
            w.WriteInteger(read.Found ? value.WrittenCount : 0);
        }
        finally
        {
            ReturnBuffer(value);
        }

        return RespAction.Continue;
    }

    /// <summary>GETRANGE key start end (and SUBSTR): the bytes from start to end inclusive, negative counting from the end.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    internal async ValueTask<RespAction> GetRange(RespCommand c, RespWriter w)
    {
        if (!CheckSizes(w, c[1]))
        {
            return RespAction.Continue;
        }

        if (!c.TryGetInt64(2, out var start) || !c.TryGetInt64(3, out var end))
        {
            w.WriteError(RespErrors.NotInteger);
            return RespAction.Continue;
        }

        var value = RentBuffer();
        try
        {
            await _store.ReadAsync(new ReadRequest(c.GetMemory(1), value, _session.ReadConsistency)).ConfigureAwait(false);
            var (from, count) = ByteRange(start, end, value.WrittenCount);
            w.WriteBulkString(value.WrittenSpan.Slice(from, count));
        }
        finally
        {
            ReturnBuffer(value);
        }

        return RespAction.Continue;
    }

    /// <summary>
    /// GETRANGE's and BITCOUNT's index rule (Redis's getrangeCommand): negative indexes count from the end, both are then
    /// clamped into the string; start past end (or an empty string) is empty. Returns the first index and the count.
    /// </summary>
    internal static (int From, int Count) ByteRange(long start, long end, long length)
    {
        var (from, to) = ClampRange(start, end, length);
        return from > to ? (0, 0) : ((int)from, (int)(to - from + 1));
    }

    /// <summary>The inclusive range [from, to] Redis's rule makes of start and end over <paramref name="length"/> items; from &gt; to when empty.</summary>
    private static (long From, long To) ClampRange(long start, long end, long length)
    {
        if ((start < 0 && end < 0 && start > end) || length == 0)
        {
            return (1, 0);
        }

        start = start < 0 ? Math.Max(0, length + start) : start;
        end = end < 0 ? Math.Max(0, length + end) : end;
        end = Math.Min(end, length - 1);
        return (start, end);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    internal async ValueTask<RespAction> SetRange(RespCommand c, RespWriter w)
    {
        if (!CheckSizes(w, c[1]))
        {
            return RespAction.Continue;
        }

        if (!c.TryGetInt64(2, out var offset))
        {
            w.WriteError(RespErrors.NotInteger);
            return RespAction.Continue;
        }

        if (offset < 0)
        {
            w.WriteError("ERR offset is out of range"u8);
            return RespAction.Continue;
        }

        var max = _node.Options.MaxValueBytes;
        if (c[3].Length > 0 && offset + c[3].Length > max)
        {
            w.WriteError(TooLongError(max));
            return RespAction.Continue;
        }

        var modifier = new SetRangeModifier((int)Math.Min(offset, max), c.GetMemory(3));
        await _store.WriteAsync(WriteRequest.Modify(c.GetMemory(1), modifier, _session.WriteConsistency)).ConfigureAwait(false);
        w.WriteInteger(modifier.Length);
        return RespAction.Continue;
    }

    /// <summary>GETSET key value: SET key value GET (the expiry is cleared).</summary>
    internal ValueTask<RespAction> GetSet(RespCommand c, RespWriter w) =>
        !CheckSizes(w, c[1], c[2].Length)
            ? new(RespAction.Continue)
            : WriteReplyingPrevious(WriteRequest.Set(c.GetMemory(1), c.GetMemory(2), SetCondition.Always, ExpiryRule.Clear, null, _session.WriteConsistency), w);

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    internal async ValueTask<RespAction> GetBit(RespCommand c, RespWriter w)
    {
        if (!CheckSizes(w, c[1]))
        {
            return RespAction.Continue;
        }

        if (!TryBitOffset(c, 2, w, out var offset))
        {
            return RespAction.Continue;
        }

        var value = RentBuffer();
        try
        {
            await _store.ReadAsync(new ReadRequest(c.GetMemory(1), value, _session.ReadConsistency)).ConfigureAwait(false);
            w.WriteInteger(BitAt(value.WrittenSpan, offset));
        }
        finally
        {
            ReturnBuffer(value);
        }

        return RespAction.Continue;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    internal async ValueTask<RespAction> SetBit(RespCommand c, RespWriter w)
    {
        if (!CheckSizes(w, c[1]))
        {
            return RespAction.Continue;
        }

        if (!TryBitOffset(c, 2, w, out var offset))
        {
            return RespAction.Continue;
        }

        if (!c.TryGetInt64(3, out var bit) || bit is not (0 or 1))
        {
            w.WriteError("ERR bit is not an integer or out of range"u8);
            return RespAction.Continue;
        }

        var max = _node.Options.MaxValueBytes;
        if ((offset >> 3) >= max)
        {
            w.WriteError(TooLongError(max));
            return RespAction.Continue;
        }

        var modifier = new SetBitModifier(offset, bit == 1);
        await _store.WriteAsync(WriteRequest.Modify(c.GetMemory(1), modifier, _session.WriteConsistency)).ConfigureAwait(false);
        w.WriteInteger(modifier.Old);
        return RespAction.Continue;
    }

    /// <summary>BITCOUNT key [start end [BYTE | BIT]]: set bits, over byte or bit indexes with GETRANGE's rule.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    internal async ValueTask<RespAction> BitCount(RespCommand c, RespWriter w)
    {
        if (!CheckSizes(w, c[1]))
        {
            return RespAction.Continue;
        }

        long start = 0, end = -1;
        var bits = false;
        if (c.Count is 4 or 5)
        {
            if (!c.TryGetInt64(2, out start) || !c.TryGetInt64(3, out end))
            {
                w.WriteError(RespErrors.NotInteger);
                return RespAction.Continue;
            }

            if (c.Count == 5)
            {
                if (c.ArgumentEquals(4, "BIT"u8))
                {
                    bits = true;
                }
                else if (!c.ArgumentEquals(4, "BYTE"u8))
                {
                    w.WriteError(RespErrors.Syntax);
                    return RespAction.Continue;
                }
            }
        }
        else if (c.Count != 2)
        {
            w.WriteError(RespErrors.Syntax);
            return RespAction.Continue;
        }

        var value = RentBuffer();
        try
        {
            await _store.ReadAsync(new ReadRequest(c.GetMemory(1), value, _session.ReadConsistency)).ConfigureAwait(false);
            w.WriteInteger(CountBits(value.WrittenSpan, start, end, bits));
        }
        finally
        {
            ReturnBuffer(value);
        }

        return RespAction.Continue;
    }

    /// <summary>The set bits of <paramref name="value"/> from <paramref name="start"/> to <paramref name="end"/> (bytes, or bits with <paramref name="bits"/>).</summary>
    internal static long CountBits(ReadOnlySpan<byte> value, long start, long end, bool bits)
    {
        var (from, to) = ClampRange(start, end, bits ? (long)value.Length << 3 : value.Length);
        if (from > to)
        {
            return 0;
        }

        if (!bits)
        {
            return PopCount(value.Slice((int)from, (int)(to - from + 1)));
        }

        // Whole bytes, less the bits before from in the first and after to in the last (most significant bit first).
        var first = (int)(from >> 3);
        var last = (int)(to >> 3);
        var count = PopCount(value.Slice(first, last - first + 1));
        count -= BitOperations.PopCount((uint)(value[first] & ~((1 << (8 - (int)(from & 7))) - 1) & 0xFF));
        count -= BitOperations.PopCount((uint)(value[last] & ((1 << (7 - (int)(to & 7))) - 1)));
        return count;
    }

    private static long PopCount(ReadOnlySpan<byte> bytes)
    {
        long count = 0;
        var i = 0;
        for (; i + 8 <= bytes.Length; i += 8)
        {
            count += BitOperations.PopCount(BitConverter.ToUInt64(bytes.Slice(i, 8)));
        }

        for (; i < bytes.Length; i++)
        {
            count += BitOperations.PopCount(bytes[i]);
        }

        return count;
    }

    private static bool TryBitOffset(RespCommand c, int index, RespWriter w, out long offset)
    {
        if (!c.TryGetInt64(index, out offset) || offset < 0 || offset > MaxBitOffset)
        {
            w.WriteError("ERR bit offset is not an integer or out of range"u8);
            return false;
        }

        return true;
    }

    /// <summary>Bit <paramref name="offset"/> of <paramref name="value"/>, the most significant bit of byte 0 first; 0 past the end.</summary>
    internal static int BitAt(ReadOnlySpan<byte> value, long offset)
    {
        var index = offset >> 3;
        return index < value.Length ? (value[(int)index] >> (7 - (int)(offset & 7))) & 1 : 0;
    }

    /// <summary>LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN]: the longest common subsequence of two values.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    internal async ValueTask<RespAction> Lcs(RespCommand c, RespWriter w)
    {
        if (!CheckKeys(c, w, 1) || !CheckSizes(w, c[2]))
        {
            return RespAction.Continue;
        }

        bool len = false, idx = false, withLengths = false;
        long minLength = 0;
        for (var i = 3; i < c.Count; i++)
        {
            if (c.ArgumentEquals(i, "LEN"u8))
            {
                len = true;
            }
            else if (c.ArgumentEquals(i, "IDX"u8))
            {
                idx = true;
            }
            else if (c.ArgumentEquals(i, "WITHMATCHLEN"u8))
            {
                withLengths = true;
            }
            else if (c.ArgumentEquals(i, "MINMATCHLEN"u8) && i + 1 < c.Count)
            {
                if (!c.TryGetInt64(++i, out minLength))
                {
                    w.WriteError(RespErrors.NotInteger);
                    return RespAction.Continue;
                }

                minLength = Math.Max(0, minLength);
            }
            else
            {
                w.WriteError(RespErrors.Syntax);
                return RespAction.Continue;
            }
        }

        if (len && idx)
        {
            w.WriteError("ERR If you want both the length and indexes, please just use IDX."u8);
            return RespAction.Continue;
        }

        var a = RentBuffer();
        var b = RentBuffer();
        try
        {
            // Both reads in flight at once: in a cluster the two keys have different replicas.
            var readA = _store.ReadAsync(new ReadRequest(c.GetMemory(1), a, _session.ReadConsistency));
            var readB = _store.ReadAsync(new ReadRequest(c.GetMemory(2), b, _session.ReadConsistency));
            await readA.ConfigureAwait(false);
            await readB.ConfigureAwait(false);
            var cells = (long)(a.WrittenCount + 1) * (b.WrittenCount + 1);
            if (cells > MaxLcsCells)
            {
                w.WriteError($"ERR LCS of values of {a.WrittenCount} and {b.WrittenCount} bytes needs a table of {cells} cells, over the limit of {MaxLcsCells}");
                return RespAction.Continue;
            }

            WriteLcs(w, a.WrittenSpan, b.WrittenSpan, len, idx, withLengths, minLength);
        }
        finally
        {
            ReturnBuffer(a);
            ReturnBuffer(b);
        }

        return RespAction.Continue;
    }

    /// <summary>
    /// Redis's lcsCommand: the dynamic-programming table of common-subsequence lengths, then one walk back from its end
    /// that collects the subsequence and, for IDX, the runs it matched (last first), each at least MINMATCHLEN long.
    /// </summary>
    internal static void WriteLcs(RespWriter w, ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, bool len, bool idx, bool withLengths, long minLength)
    {
        var width = b.Length + 1;
        var table = ArrayPool<uint>.Shared.Rent((a.Length + 1) * width);
        try
        {
            for (var j = 0; j < width; j++)
            {
                table[j] = 0;
            }

            for (var i = 1; i <= a.Length; i++)
            {
                table[i * width] = 0;
                for (var j = 1; j <= b.Length; j++)
                {
                    table[(i * width) + j] = a[i - 1] == b[j - 1]
                        ? table[((i - 1) * width) + j - 1] + 1
                        : Math.Max(table[((i - 1) * width) + j], table[(i * width) + j - 1]);
                }
            }

            var total = (int)table[(a.Length * width) + b.Length];
            if (len)
            {
                w.WriteInteger(total);
                return;
            }

            // Walking back from the end: a match extends the current run downward (runs are contiguous in both values);
            // a step past a mismatch, or reaching the first byte of either value, closes the run.
            var common = new byte[total];
            var matches = new System.Collections.Generic.List<(int AStart, int AEnd, int BStart, int BEnd)>();
            int x = a.Length, y = b.Length, at = total;
            int aStart = -1, aEnd = 0, bStart = 0, bEnd = 0;
            while (x > 0 && y > 0)
            {
                bool close;
                if (a[x - 1] == b[y - 1])
                {
                    common[--at] = a[x - 1];
                    if (aStart < 0)
                    {
                        (aStart, aEnd, bStart, bEnd) = (x - 1, x - 1, y - 1, y - 1);
                    }
                    else
                    {
                        (aStart, bStart) = (aStart - 1, bStart - 1);
                    }

                    close = aStart == 0 || bStart == 0;
                    x--;
                    y--;
                }
                else
                {
                    if (table[((x - 1) * width) + y] > table[(x * width) + y - 1])
                    {
                        x--;
                    }
                    else
                    {
                        y--;
                    }

                    close = aStart >= 0;
                }

                if (close)
                {
                    if (aEnd - aStart + 1 >= minLength)
                    {
                        matches.Add((aStart, aEnd, bStart, bEnd));
                    }

                    aStart = -1;
                }
            }

            if (!idx)
            {
                w.WriteBulkString(common);
                return;
            }

            w.WriteMapHeader(2);
            w.WriteBulkString("matches"u8);
            w.WriteArrayHeader(matches.Count);
            foreach (var match in matches)
            {
                w.WriteArrayHeader(withLengths ? 3 : 2);
                w.WriteArrayHeader(2);
                w.WriteInteger(match.AStart);
                w.WriteInteger(match.AEnd);
                w.WriteArrayHeader(2);
                w.WriteInteger(match.BStart);
                w.WriteInteger(match.BEnd);
                if (withLengths)
                {
                    w.WriteInteger(match.AEnd - match.AStart + 1);
                }
            }

            w.WriteBulkString("len"u8);
            w.WriteInteger(total);
        }
        finally
        {
            ArrayPool<uint>.Shared.Return(table);
        }
    }

    private static string TooLongError(int max) => $"ERR string exceeds maximum allowed size (max-value-bytes {max})";

    private static void WriteLengthOrError(RespWriter w, long length, bool tooLong)
    {
        if (tooLong)
        {
            w.WriteError(TooLongError((int)length));
        }
        else
        {
            w.WriteInteger(length);
        }
    }

    /// <summary>APPEND: the value with the argument after it; refused (nothing written) past the size limit.</summary>
    private sealed class AppendModifier(ReadOnlyMemory<byte> suffix, int maxBytes) : IValueModifier
    {
        /// <summary>The new length; the limit when <see cref="TooLong"/>.</summary>
        public long Length { get; private set; }

        public bool TooLong { get; private set; }

        public byte[]? Modify(ReadOnlySpan<byte> current, bool exists)
        {
            if ((long)current.Length + suffix.Length > maxBytes)
            {
                (TooLong, Length) = (true, maxBytes);
                return null;
            }

            var value = new byte[current.Length + suffix.Length];
            current.CopyTo(value);
            suffix.Span.CopyTo(value.AsSpan(current.Length));
            Length = value.Length;
            return value;
        }
    }

    /// <summary>SETRANGE: the argument written at the offset, zero bytes padding any gap; an empty argument changes nothing.</summary>
    private sealed class SetRangeModifier(int offset, ReadOnlyMemory<byte> patch) : IValueModifier
    {
        public long Length { get; private set; }

        public byte[]? Modify(ReadOnlySpan<byte> current, bool exists)
        {
            if (patch.IsEmpty)
            {
                // Redis: an empty patch neither creates the key nor changes it; the reply is the current length.
                Length = current.Length;
                return null;
            }

            var value = new byte[Math.Max(current.Length, offset + patch.Length)];
            current.CopyTo(value);
            patch.Span.CopyTo(value.AsSpan(offset));
            Length = value.Length;
            return value;
        }
    }

    /// <summary>SETBIT: one bit set or cleared, the value grown with zero bytes to reach it; keeps the bit it found.</summary>
    private sealed class SetBitModifier(long offset, bool set) : IValueModifier
    {
        public int Old { get; private set; }

        public byte[]? Modify(ReadOnlySpan<byte> current, bool exists)
        {
            Old = BitAt(current, offset);
            var index = (int)(offset >> 3);
            var value = new byte[Math.Max(current.Length, index + 1)];
            current.CopyTo(value);
            var mask = (byte)(1 << (7 - (int)(offset & 7)));
            value[index] = set ? (byte)(value[index] | mask) : (byte)(value[index] & ~mask);
            return value;
        }
    }
}
