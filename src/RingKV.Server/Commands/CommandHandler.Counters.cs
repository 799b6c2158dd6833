using System;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Threading.Tasks;
using RingKV.Net.Resp;
using RingKV.Server.Cluster;
using RingKV.Server.Diagnostics;
using RingKV.Server.Store;

namespace RingKV.Server.Commands;

/// <summary>INCR, DECR, INCRBY, DECRBY and INCRBYFLOAT on a single node, with Redis's parsing, overflow rules and replies.</summary>
/// <remarks>
/// Each is one <see cref="WriteKind.Modify"/>: the key's stripe is held from the read to the commit, so concurrent
/// increments never lose one, and the TTL is kept (as Redis's KEEPTTL). In a cluster INCR, DECR, INCRBY and DECRBY are a
/// counter CRDT (<see cref="Core.Versioning.CounterState"/>, applied by a replica of the key: see
/// <see cref="CoordinatedStore.IncrementAsync"/>), since a read-modify-write at two levels loses and doubles increments
/// under concurrency and partitions (as Cassandra's counters did). INCRBYFLOAT is refused there: a float's sum depends
/// on the order of its terms, so replicas that add the same increments in different orders would disagree.
/// INCRBYFLOAT computes in decimal (28 significant digits) while the operands fit, so 0.1 + 0.2 answers 0.3 as Redis's
/// long double does, and in double beyond; the result is written in fixed notation without trailing zeros.
/// </remarks>
internal sealed partial class CommandHandler
{
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    internal async ValueTask<RespAction> IncrBy(RespCommand c, RespWriter w, long sign, bool hasAmount)
    {
        if (!CheckSizes(w, c[1]))
        {
            return RespAction.Continue;
        }

        if (IncrementDelta(c, sign, hasAmount, out var delta) is { } refused)
        {
            w.WriteError(refused);
            return RespAction.Continue;
        }

        if (_store is CoordinatedStore cluster)
        {
            // The counter CRDT: a replica of the key adds the delta to its own entry; replicas join entries, never lose one.
            w.WriteInteger(await cluster.IncrementAsync(c.GetMemory(1), delta, _session.ReadConsistency, _session.WriteConsistency).ConfigureAwait(false));
            return RespAction.Continue;
        }

        var modifier = new IncrementModifier(delta, CommandTable.Find(c.Name)!, hasAmount ? c.GetMemory(2) : default);
        await _store.WriteAsync(WriteRequest.Modify(c.GetMemory(1), modifier, _session.WriteConsistency)).ConfigureAwait(false);
        WriteIncrement(w, modifier);
        return RespAction.Continue;
    }

    private static void WriteIncrement(RespWriter w, IncrementModifier modifier)
    {
        if (modifier.Error is { } error)
        {
            w.WriteError(error);
        }
        else
        {
            w.WriteInteger(modifier.Result);
        }
    }

    /// <summary>The delta of an INCR, DECR, INCRBY or DECRBY whose arguments are right; false for any other command or bad arguments.</summary>
    private static bool TryIncrementDelta(CommandSpec spec, RespCommand c, out long delta)
    {
        delta = 0;
        var (sign, hasAmount) = spec.Name switch
        {
            "incr" => (1L, false),
            "decr" => (-1L, false),
            "incrby" => (1L, true),
            "decrby" => (-1L, true),
            _ => (0L, false),
        };
        return sign != 0 && c.Count == (hasAmount ? 3 : 2) && IncrementDelta(c, sign, hasAmount, out delta) is null;
    }

    /// <summary>The delta of INCR/DECR (<paramref name="sign"/>) or INCRBY/DECRBY (the amount times the sign); else the error to answer.</summary>
    private static string? IncrementDelta(RespCommand c, long sign, bool hasAmount, out long delta)
    {
        delta = sign;
        if (!hasAmount)
        {
            return null;
        }

        if (!c.TryGetInt64(2, out var amount))
        {
            return "ERR value is not an integer or out of range";
        }

        if (sign < 0 && amount == long.MinValue)
        {
            return "ERR decrement would overflow";
        }

        delta = sign * amount;
        return null;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    internal async ValueTask<RespAction> IncrByFloat(RespCommand c, RespWriter w)
    {
        if (!CheckSizes(w, c[1]) || !CountersHere(w))
        {
            return RespAction.Continue;
        }

        if (!c.TryGetDouble(2, out _))
        {
            w.WriteError(RespErrors.NotFloat);
            return RespAction.Continue;
        }

        var modifier = new FloatIncrementModifier(c[2].ToArray());
        await _store.WriteAsync(WriteRequest.Modify(c.GetMemory(1), modifier, _session.WriteConsistency)).ConfigureAwait(false);
        if (modifier.Error is { } error)
        {
            w.WriteError(error);
        }
        else
        {
            w.WriteBulkString(modifier.Result!);
        }

        return RespAction.Continue;
    }

    /// <summary>False (with the error written) on a cluster node: INCRBYFLOAT has no merge that replicas agree on.</summary>
    private bool CountersHere(RespWriter w)
    {
        if (_node.Cluster is null)
        {
            return true;
        }

        w.WriteError("ERR INCRBYFLOAT is not supported in a cluster: a read-modify-write across replicas would lose or double increments, and float sums depend on their order; use INCRBY (a counter that merges) or a single node"u8);
        return false;
    }

    /// <summary>INCR/DECR/INCRBY/DECRBY: the value as a strict 64-bit integer (absent: 0) plus the delta.</summary>
    private sealed class IncrementModifier(long delta, CommandSpec spec, ReadOnlyMemory<byte> amount) : IValueModifier
    {
        /// <summary>The command it came from (INCR, DECR, INCRBY, DECRBY), for LATENCY and SLOWLOG.</summary>
        public CommandSpec Spec => spec;

        /// <summary>The command as SLOWLOG keeps it; the amount's memory is valid until the reply.</summary>
        public byte[][] Arguments(ReadOnlySpan<byte> key) =>
            amount.IsEmpty ? [spec.UpperName, SlowLog.Cut(key)] : [spec.UpperName, SlowLog.Cut(key), SlowLog.Cut(amount.Span)];

        public long Result { get; private set; }

        public string? Error { get; private set; }

        public byte[]? Modify(ReadOnlySpan<byte> current, bool exists)
        {
            long value = 0;
            if (exists && !RespNumber.TryParseInt64(current, out value))
            {
                Error = "ERR value is not an integer or out of range";
                return null;
            }

            if ((delta > 0 && value > long.MaxValue - delta) || (delta < 0 && value < long.MinValue - delta))
            {
                Error = "ERR increment or decrement would overflow";
                return null;
            }

            Result = value + delta;
            return System.Text.Encoding.ASCII.GetBytes(Result.ToString(CultureInfo.InvariantCulture));
        }
    }

    /// <summary>INCRBYFLOAT: the value and the increment as numbers (absent: 0), their sum in fixed notation.</summary>
    private sealed class FloatIncrementModifier(byte[] increment) : IValueModifier
    {
        public byte[]? Result { get; private set; }

        public string? Error { get; private set; }

        public byte[]? Modify(ReadOnlySpan<byte> current, bool exists)
        {
            var text = exists ? current : "0"u8;
            if (!RespNumber.TryParseDouble(text, out var valueDouble))
            {
                Error = "ERR value is not a valid float";
                return null;
            }

            if (!RespNumber.TryParseDouble(increment, out var incrementDouble))
            {
                Error = "ERR value is not a valid float"; // checked before the write; kept for the contract
                return null;
            }

            var sumDouble = valueDouble + incrementDouble;
            if (double.IsNaN(sumDouble) || double.IsInfinity(sumDouble))
            {
                Error = "ERR increment would produce NaN or Infinity";
                return null;
            }

            string sum;
            if (TryDecimal(text, out var value) && TryDecimal(increment, out var by) && TryAdd(value, by, out var total))
            {
                sum = Trim(total.ToString(CultureInfo.InvariantCulture));
            }
            else
            {
                sum = Trim(sumDouble.ToString("0.#################", CultureInfo.InvariantCulture));
            }

            Result = System.Text.Encoding.ASCII.GetBytes(sum);
            return Result;
        }

        private static bool TryDecimal(ReadOnlySpan<byte> text, out decimal value) =>
            decimal.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out value);

        private static bool TryAdd(decimal a, decimal b, out decimal sum)
        {
            try
            {
                sum = a + b;
                return true;
            }
            catch (OverflowException)
            {
                sum = 0;
                return false;
            }
        }

        /// <summary>Without trailing zeros after the point, nor the point itself when nothing follows it; "-0" as "0".</summary>
        private static string Trim(string number)
        {
            if (number.Contains('.', StringComparison.Ordinal))
            {
                number = number.TrimEnd('0').TrimEnd('.');
            }

            return number == "-0" ? "0" : number;
        }
    }
}
