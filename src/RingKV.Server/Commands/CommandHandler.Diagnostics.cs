using System;
using System.Collections.Generic;
using System.Text;
using System.Threading.Tasks;
using RingKV.Net.Resp;
using RingKV.Server.Diagnostics;

namespace RingKV.Server.Commands;

/// <summary>SLOWLOG and LATENCY: the node's slow-command log and latency monitor (see <see cref="SlowLog"/>, <see cref="LatencyMonitor"/>).</summary>
internal sealed partial class CommandHandler
{
    private static readonly string[] SlowLogHelp =
    [
        "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET [<count>]",
        "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
        "    Entries are made of:",
        "    id, timestamp, time in microseconds, arguments array, client IP and port,",
        "    client name",
        "LEN",
        "    Return the length of the slowlog.",
        "RESET",
        "    Reset the slowlog.",
        "HELP",
        "    Prints this help.",
    ];

    private static readonly string[] LatencyHelp =
    [
        "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DOCTOR",
        "    Return a human readable latency analysis report.",
        "GRAPH <event>",
        "    Not supported by RingKV: use HISTORY <event>.",
        "HISTORY <event>",
        "    Return time-latency samples for the <event> class.",
        "LATEST",
        "    Return the latest latency samples for all events.",
        "RESET [<event> ...]",
        "    Reset latency data of one or more <event> classes.",
        "    (default: reset all data for all event classes)",
        "HISTOGRAM [COMMAND ...]",
        "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
        "    If no commands are specified then all histograms are replied.",
        "HELP",
        "    Prints this help.",
    ];

    /// <summary>SLOWLOG GET [count] | LEN | RESET | HELP, Redis's replies.</summary>
    internal RespAction SlowLogCommand(RespCommand c, RespWriter w)
    {
        var log = _node.SlowLog;
        if (c.ArgumentEquals(1, "GET"u8))
        {
            if (c.Count > 3)
            {
                w.WriteError($"ERR unknown subcommand or wrong number of arguments for '{Printable(c[1], 64)}'. Try SLOWLOG HELP.");
                return RespAction.Continue;
            }

            long count = 10;
            if (c.Count == 3)
            {
                if (!RespNumber.TryParseInt64(c[2], out count) || count < -1)
                {
                    w.WriteError("ERR count should be greater than or equal to -1"u8);
                    return RespAction.Continue;
                }
            }

            var entries = log.Latest(count);
            w.WriteArrayHeader(entries.Count);
            foreach (var entry in entries)
            {
                w.WriteArrayHeader(6);
                w.WriteInteger(entry.Id);
                w.WriteInteger(entry.UnixSeconds);
                w.WriteInteger(entry.Micros);
                w.WriteArrayHeader(entry.Arguments.Length);
                foreach (var argument in entry.Arguments)
                {
                    w.WriteBulkString(argument);
                }

                w.WriteBulkString(Encoding.UTF8.GetBytes(entry.Client));
                w.WriteBulkString(Encoding.UTF8.GetBytes(entry.ClientName));
            }
        }
        else if (c.ArgumentEquals(1, "LEN"u8))
        {
            if (!SubcommandArity(c, w, 2))
            {
                return RespAction.Continue;
            }

            w.WriteInteger(log.Count);
        }
        else if (c.ArgumentEquals(1, "RESET"u8))
        {
            if (!SubcommandArity(c, w, 2))
            {
                return RespAction.Continue;
            }

            log.Reset();
            w.WriteOk();
        }
        else if (c.ArgumentEquals(1, "HELP"u8))
        {
            if (!SubcommandArity(c, w, 2))
            {
                return RespAction.Continue;
            }

            WriteHelp(w, SlowLogHelp);
        }
        else
        {
            UnknownSubcommand(c, w);
        }

        return RespAction.Continue;
    }

    /// <summary>LATENCY LATEST | HISTORY event | RESET [event ...] | HISTOGRAM [command ...] | DOCTOR | HELP, Redis's replies.</summary>
    internal RespAction LatencyCommand(RespCommand c, RespWriter w)
    {
        var monitor = _node.Latency;
        if (c.ArgumentEquals(1, "LATEST"u8))
        {
            if (!SubcommandArity(c, w, 2))
            {
                return RespAction.Continue;
            }

            var events = monitor.Events();
            w.WriteArrayHeader(events.Count);
            foreach (var e in events)
            {
                w.WriteArrayHeader(4);
                w.WriteBulkString(Encoding.ASCII.GetBytes(e.Name));
                w.WriteInteger(e.Samples[^1].UnixSeconds);
                w.WriteInteger(e.Samples[^1].Millis);
                w.WriteInteger(e.MaxMillis);
            }
        }
        else if (c.ArgumentEquals(1, "HISTORY"u8))
        {
            if (!SubcommandArity(c, w, 3))
            {
                return RespAction.Continue;
            }

            var name = Encoding.UTF8.GetString(c[2]);
            var samples = monitor.Events().Find(e => e.Name == name)?.Samples ?? [];
            w.WriteArrayHeader(samples.Count);
            foreach (var (time, millis) in samples)
            {
                w.WriteArrayHeader(2);
                w.WriteInteger(time);
                w.WriteInteger(millis);
            }
        }
        else if (c.ArgumentEquals(1, "RESET"u8))
        {
            var names = new List<string>();
            for (var i = 2; i < c.Count; i++)
            {
                names.Add(Encoding.UTF8.GetString(c[i]));
            }

            w.WriteInteger(monitor.Reset(names));
        }
        else if (c.ArgumentEquals(1, "HISTOGRAM"u8))
        {
            LatencyHistogram(c, w, monitor);
        }
        else if (c.ArgumentEquals(1, "DOCTOR"u8))
        {
            if (!SubcommandArity(c, w, 2))
            {
                return RespAction.Continue;
            }

            w.WriteVerbatimString("txt"u8, Encoding.UTF8.GetBytes(LatencyReport(monitor)));
        }
        else if (c.ArgumentEquals(1, "GRAPH"u8))
        {
            if (!SubcommandArity(c, w, 3))
            {
                return RespAction.Continue;
            }

            var name = Encoding.UTF8.GetString(c[2]);
            w.WriteError(monitor.Events().Exists(e => e.Name == name)
                ? "ERR LATENCY GRAPH is not supported by RingKV: LATENCY HISTORY <event> gives the same samples"
                : $"ERR No samples available for event '{Printable(c[2], 64)}'");
        }
        else if (c.ArgumentEquals(1, "HELP"u8))
        {
            if (!SubcommandArity(c, w, 2))
            {
                return RespAction.Continue;
            }

            WriteHelp(w, LatencyHelp);
        }
        else
        {
            UnknownSubcommand(c, w);
        }

        return RespAction.Continue;
    }

    /// <summary>LATENCY HISTOGRAM: per command that ran, its calls and cumulative power-of-two microsecond buckets.</summary>
    private static void LatencyHistogram(RespCommand c, RespWriter w, LatencyMonitor monitor)
    {
        var specs = new List<CommandSpec>();
        if (c.Count == 2)
        {
            specs.AddRange(CommandTable.All);
        }
        else
        {
            for (var i = 2; i < c.Count; i++)
            {
                if (CommandTable.Find(c[i]) is { } spec && !specs.Contains(spec))
                {
                    specs.Add(spec);
                }
            }
        }

        var figures = new List<(string Name, long Calls, List<(long Micros, long Cumulative)> Buckets)>();
        foreach (var spec in specs)
        {
            var (calls, buckets) = monitor.Histogram(spec.Index);
            if (calls > 0)
            {
                figures.Add((spec.Name, calls, buckets));
            }
        }

        w.WriteMapHeader(figures.Count);
        foreach (var (name, calls, buckets) in figures)
        {
            w.WriteBulkString(Encoding.ASCII.GetBytes(name));
            w.WriteMapHeader(2);
            w.WriteBulkString("calls"u8);
            w.WriteInteger(calls);
            w.WriteBulkString("histogram_usec"u8);
            w.WriteMapHeader(buckets.Count);
            foreach (var (micros, cumulative) in buckets)
            {
                w.WriteInteger(micros);
                w.WriteInteger(cumulative);
            }
        }
    }

    /// <summary>LATENCY DOCTOR's report: plain sentences over what the monitor holds.</summary>
    private static string LatencyReport(LatencyMonitor monitor)
    {
        if (monitor.ThresholdMillis == 0)
        {
            return "Latency monitoring is off on this RingKV node. Turn it on with CONFIG SET latency-monitor-threshold <milliseconds> (or ringkv serve --latency-monitor-threshold) and ask again after some traffic.\n";
        }

        var events = monitor.Events();
        if (events.Count == 0)
        {
            return $"No command took {monitor.ThresholdMillis} ms or more since latency monitoring started or was last reset.\n";
        }

        var report = new StringBuilder();
        report.Append("Latency spikes of ").Append(monitor.ThresholdMillis).Append(" ms or more were seen:\n\n");
        var n = 1;
        foreach (var e in events)
        {
            long sum = 0;
            foreach (var (_, millis) in e.Samples)
            {
                sum += millis;
            }

            report.Append(n++).Append(". ").Append(e.Name).Append(": ").Append(e.Samples.Count)
                .Append(" latency spikes (average ").Append(sum / e.Samples.Count).Append("ms, worst ").Append(e.MaxMillis).Append("ms).\n");
        }

        report.Append("\nSLOWLOG GET shows the commands; in a cluster, INFO's cluster section shows whether replicas were slow or down.\n");
        return report.ToString();
    }

    private static readonly string[] DebugHelp =
    [
        "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "SLEEP <seconds>",
        "    Delay this connection's reply by <seconds> (a decimal); other connections keep running.",
        "HELP",
        "    Prints this help.",
    ];

    /// <summary>
    /// DEBUG SLEEP seconds | HELP. Redis's DEBUG SLEEP stops the whole server; here only this connection's reply waits
    /// (nothing is blocked), which is what a latency test or a client's timeout test needs. The other DEBUG
    /// subcommands inspect Redis internals RingKV does not have.
    /// </summary>
    internal async ValueTask<RespAction> Debug(RespCommand c, RespWriter w)
    {
        if (c.ArgumentEquals(1, "SLEEP"u8))
        {
            if (!SubcommandArity(c, w, 3))
            {
                return RespAction.Continue;
            }

            if (!double.TryParse(Encoding.ASCII.GetString(c[2]), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var seconds)
                || !double.IsFinite(seconds) || seconds < 0 || seconds > 3600)
            {
                w.WriteError("ERR DEBUG SLEEP takes a number of seconds between 0 and 3600"u8);
                return RespAction.Continue;
            }

            // At least the time asked: a timer may fire a little early by the clock the latency monitor reads (seen: 28 ms for 30).
            var asked = TimeSpan.FromSeconds(seconds);
            var start = _node.Time.GetTimestamp();
            for (var left = asked; left > TimeSpan.Zero; left = asked - _node.Time.GetElapsedTime(start))
            {
                await Task.Delay(left < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : left, _node.Time).ConfigureAwait(false);
            }

            w.WriteOk();
        }
        else if (c.ArgumentEquals(1, "HELP"u8))
        {
            if (SubcommandArity(c, w, 2))
            {
                WriteHelp(w, DebugHelp);
            }
        }
        else
        {
            w.WriteError($"ERR DEBUG {Printable(c[1], 64)} is not supported by RingKV: only DEBUG SLEEP and DEBUG HELP");
        }

        return RespAction.Continue;
    }
}
