using System;
using System.Collections.Generic;
using System.Globalization;

namespace RingKV.Cli.Admin;

/// <summary>A node's KV.REPAIR STATUS: the running pass's progress, else the last pass's result.</summary>
internal sealed record RepairStatus(
    bool Running,
    long Pass,
    long RangesDone,
    long RangesTotal,
    long RangesDiffering,
    long RangesFailed,
    long KeysRepaired,
    long BytesSent,
    long BytesReceived,
    long DurationMs,
    string LastFailure)
{
    /// <summary>Reads the flat field/value array KV.REPAIR STATUS answers; throws <see cref="FormatException"/> on another shape.</summary>
    public static RepairStatus Decode(RespReply reply, string address)
    {
        ArgumentNullException.ThrowIfNull(reply);
        if (reply.Kind == RespReplyKind.Error)
        {
            throw new FormatException($"{address} refused KV.REPAIR STATUS: {reply.Text}");
        }

        if (reply.Kind != RespReplyKind.Array || reply.Elements is not { } elements || elements.Count % 2 != 0)
        {
            throw new FormatException($"{address} answered KV.REPAIR STATUS with {reply}, not field/value pairs");
        }

        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < elements.Count; i += 2)
        {
            fields[elements[i].Text ?? ""] = elements[i + 1].Text ?? "";
        }

        long Number(string name) => fields.TryGetValue(name, out var text) && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new FormatException($"{address}'s KV.REPAIR STATUS has no number {name}");

        return new RepairStatus(Number("running") == 1, Number("pass"), Number("ranges_done"), Number("ranges_total"), Number("ranges_differing"),
            Number("ranges_failed"), Number("keys_repaired"), Number("bytes_sent"), Number("bytes_received"), Number("duration_ms"),
            fields.GetValueOrDefault("last_failure", ""));
    }

    /// <summary>
    /// The line <c>ringkv repair</c> ends with: <c>repaired N keys in R ranges (D differed), sent B bytes, T s</c>, B being the
    /// pass's anti-entropy messages both ways; failed ranges, when any, after it.
    /// </summary>
    public string Summary() => string.Create(CultureInfo.InvariantCulture,
        $"repaired {KeysRepaired} keys in {RangesTotal} ranges ({RangesDiffering} differed), sent {BytesSent + BytesReceived} bytes, {DurationMs / 1000.0:0.0} s")
        + (RangesFailed > 0 ? string.Create(CultureInfo.InvariantCulture, $"; {RangesFailed} ranges failed: {LastFailure}") : "");
}
