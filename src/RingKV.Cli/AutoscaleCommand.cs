using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Globalization;
using System.IO;
using RingKV.Cli.Admin;
using RingKV.Cli.Scaling;
using RingKV.Cluster.Scaling;
using RingKV.Server;

namespace RingKV.Cli;

/// <summary>
/// <c>ringkv autoscale</c>: a control loop that reads the cluster's load (KV.RING) every interval, asks the autoscale
/// policy (<see cref="AutoscalePolicy"/>) and adds or removes nodes through a provider.
/// </summary>
/// <remarks>
/// Why a separate control loop rather than <c>serve --autoscale</c> on an elected node: (1) it owns the provider, so it
/// starts processes or talks to the orchestrator (a Kubernetes API token that may patch a StatefulSet), which a
/// storage node should neither need nor hold; (2) it runs as one instance, so there is no election protocol to build,
/// test and get wrong; (3) a crash of it stops scaling, never serving, and restarting it loses nothing (the policy
/// needs only a window of fresh samples). Because it is a process of its own, INFO on the nodes cannot show its
/// decisions: it writes the last one to DIR/autoscale.json and <c>ringkv status --data-dir DIR</c> shows it.
/// Exit codes: 0 when it stops (--max-runtime, Ctrl-C, SIGTERM); 2 for a bad flag; 1 when the provider cannot start
/// (no cluster.json in the directory).
/// </remarks>
internal static class AutoscaleCommand
{
    public static Command Create()
    {
        var hosts = new Option<string[]>("--host")
        {
            Description = "A node to read KV.RING from, host:port of its RESP address; repeatable, the first that answers is read. Default: the running nodes of --data-dir.",
            HelpName = "host:port",
            AllowMultipleArgumentsPerToken = false,
        };
        var directory = new Option<string>("--data-dir")
        {
            Description = "The `ringkv cluster up` directory: the local provider starts nodes there, and autoscale.json (the last decision, for ringkv status) is written there. Default ./cluster.",
            HelpName = "path",
            DefaultValueFactory = _ => LocalCluster.DefaultDirectory,
        };
        var password = new Option<string?>("--password") { Description = "AUTH with this password (default: the cluster's --password from DIR/cluster.json).", HelpName = "password" };
        var provider = new Option<string>("--provider")
        {
            Description = "Where nodes come from: local (ringkv serve processes on this machine, as cluster up starts them; the only one built). Default local.",
            HelpName = "name",
            DefaultValueFactory = _ => "local",
        };
        var interval = Duration("--interval", "How often to read the load and decide (500ms, 5s, 1m; a bare number is seconds). Default 5s.", "5s");
        var maxRuntime = Duration("--max-runtime", "Stop by itself after this long (30s, 10m; 0: run until Ctrl-C or SIGTERM). Default 0.", "0");
        var dryRun = new Option<bool>("--dry-run") { Description = "Decide and log each decision, change nothing." };
        var min = Count("--min", "The fewest nodes; never below max(--min, the replication factor). Default 1.", 1);
        var max = Count("--max", "The most nodes. Default 16.", 16);
        var step = Count("--step", "Nodes added or removed per decision (removed one after another). Default 1.", 1);
        var window = Duration("--window", "How long the load must stay above a high mark (or below every low mark) before a decision. Default 1m.", "1m");
        var cooldown = Duration("--cooldown", "How long after a change completes nothing is decided (the window starts after it). Default 5m.", "5m");
        var changeTimeout = Duration("--change-timeout", "How long a new node has to become NORMAL, or a decommissioned one to leave and exit, before the change is reported failed. Default 30m.", "30m");
        var marks = new Dictionary<string, Option<string?>>(StringComparer.Ordinal);
        foreach (var (name, what) in new[]
        {
            ("ops", "operations per second per node"),
            ("bytes", "bytes stored per node (a number with an optional unit: 500MiB, 20GiB, 1.5TB; units are binary)"),
            ("p99", "p99 latency per node, microseconds"),
            ("cpu", "CPU per node, percent of one core (up to 100 per core)"),
        })
        {
            marks["high-" + name] = new Option<string?>("--high-" + name) { Description = $"High water mark of {what}: above it for the whole window, scale out. Unset by default.", HelpName = "value" };
            marks["low-" + name] = new Option<string?>("--low-" + name) { Description = $"Low water mark of {what}: every set low mark held for the whole window, scale in. Must be below --high-{name}. Unset by default.", HelpName = "value" };
        }

        var command = new Command("autoscale", "Run the autoscaler: every --interval read KV.RING, decide (water marks held for --window, --cooldown after a change, between --min and --max nodes) "
            + "and add nodes or decommission the newest through --provider. Each decision is logged as one line with its reason and written to DIR/autoscale.json, which ringkv status shows.")
        {
            hosts, directory, password, provider, interval, maxRuntime, dryRun, min, max, step, window, cooldown, changeTimeout,
        };
        foreach (var option in marks.Values)
        {
            command.Options.Add(option);
        }

        command.SetAction(async (parse, cancel) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var errors = parse.InvocationConfiguration.Error;
            var problems = new List<string>();
            var settings = new AutoscaleSettings
            {
                Ops = Marks(parse, marks, "ops", Number, problems),
                Bytes = Marks(parse, marks, "bytes", ByteSize, problems),
                P99 = Marks(parse, marks, "p99", Number, problems),
                Cpu = Marks(parse, marks, "cpu", Number, problems),
                Window = ParseDuration(parse.GetValue(window)!, "--window", problems),
                Cooldown = ParseDuration(parse.GetValue(cooldown)!, "--cooldown", problems),
                MinNodes = parse.GetValue(min),
                MaxNodes = parse.GetValue(max),
                Step = parse.GetValue(step),
            };
            var every = ParseDuration(parse.GetValue(interval)!, "--interval", problems);
            if (every <= TimeSpan.Zero && problems.Count == 0)
            {
                problems.Add("--interval must be above 0");
            }

            var limit = ParseDuration(parse.GetValue(maxRuntime)!, "--max-runtime", problems);
            var timeout = ParseDuration(parse.GetValue(changeTimeout)!, "--change-timeout", problems);
            if (timeout <= TimeSpan.Zero && problems.Count == 0)
            {
                problems.Add("--change-timeout must be above 0");
            }

            if (parse.GetValue(provider) is var name && name != "local")
            {
                problems.Add($"--provider '{name}' is not built: only local is (docs/operations.md describes a Kubernetes provider)");
            }

            var addresses = parse.GetValue(hosts) ?? [];
            foreach (var address in addresses)
            {
                try
                {
                    HostPort.Parse(address);
                }
                catch (RespClientException e)
                {
                    problems.Add($"--host {e.Message}");
                }
            }

            problems.AddRange(settings.Problems());
            if (problems.Count > 0)
            {
                foreach (var problem in problems)
                {
                    errors.WriteLine($"ringkv autoscale: {problem}");
                }

                return 2;
            }

            var root = Path.GetFullPath(parse.GetValue(directory)!);
            LocalProcessProvider? local = null;
            try
            {
                local = new LocalProcessProvider(root, timeout, output);
            }
            catch (FormatException e)
            {
                if (!parse.GetValue(dryRun) || addresses.Length == 0)
                {
                    errors.WriteLine($"ringkv autoscale: {e.Message}");
                    return 1;
                }

                output.WriteLine($"{AutoscaleLoop.Stamp(DateTimeOffset.UtcNow)} autoscale: no local provider ({e.Message}); dry run with every node removable");
            }

            var secret = parse.GetValue(password) ?? local?.Password;
            var source = new RingLoadSource(addresses.Length > 0 ? () => addresses : local!.Addresses, secret, StatusCommand.Timeout);
            var loop = new AutoscaleLoop(new AutoscalePolicy(settings), source, local, TimeProvider.System, output,
                Directory.Exists(root) ? Path.Combine(root, AutoscaleStatus.FileName) : null, parse.GetValue(dryRun));
            await loop.RunAsync(every, limit > TimeSpan.Zero ? limit : null, cancel).ConfigureAwait(false);
            return 0;
        });
        return command;
    }

    /// <summary>A number >= 0 (ops/s, µs, %), or null with the problem added.</summary>
    internal static double? Number(string text, string flag, List<string> problems)
    {
        if (double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value))
        {
            return value;
        }

        problems.Add($"{flag} '{text}' is not a number >= 0 (e.g. 5000 or 2.5)");
        return null;
    }

    /// <summary>A byte count: a number with an optional binary unit (B, K/KB/KiB, M/MB/MiB, G/GB/GiB, T/TB/TiB), or null with the problem added.</summary>
    internal static double? ByteSize(string text, string flag, List<string> problems)
    {
        var t = text.Trim();
        var end = t.Length;
        while (end > 0 && char.IsAsciiLetter(t[end - 1]))
        {
            end--;
        }

        var unit = t[end..].ToUpperInvariant() switch
        {
            "" or "B" => 1.0,
            "K" or "KB" or "KIB" => 1024.0,
            "M" or "MB" or "MIB" => 1024.0 * 1024,
            "G" or "GB" or "GIB" => 1024.0 * 1024 * 1024,
            "T" or "TB" or "TIB" => 1024.0 * 1024 * 1024 * 1024,
            _ => double.NaN,
        };
        if (!double.IsNaN(unit) && double.TryParse(t[..end], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var count) && double.IsFinite(count))
        {
            return count * unit;
        }

        problems.Add($"{flag} '{text}' is not a size: expected bytes with an optional unit, e.g. 1073741824, 500MiB, 20GiB, 1.5TB");
        return null;
    }

    private static WaterMarks Marks(ParseResult parse, Dictionary<string, Option<string?>> marks, string metric, Func<string, string, List<string>, double?> read, List<string> problems)
    {
        var high = parse.GetValue(marks["high-" + metric]) is { } h ? read(h, "--high-" + metric, problems) : null;
        var low = parse.GetValue(marks["low-" + metric]) is { } l ? read(l, "--low-" + metric, problems) : null;
        return new WaterMarks(high, low);
    }

    private static TimeSpan ParseDuration(string text, string flag, List<string> problems)
    {
        try
        {
            return ServerOptions.Duration(text, flag);
        }
        catch (FormatException e)
        {
            problems.Add(e.Message);
            return TimeSpan.Zero;
        }
    }

    private static Option<string> Duration(string name, string description, string defaultValue) => new(name)
    {
        Description = description,
        HelpName = "duration",
        DefaultValueFactory = _ => defaultValue,
    };

    private static Option<int> Count(string name, string description, int defaultValue) => new(name)
    {
        Description = description,
        HelpName = "count",
        DefaultValueFactory = _ => defaultValue,
    };
}
