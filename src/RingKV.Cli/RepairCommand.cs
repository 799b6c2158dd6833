using System;
using System.CommandLine;
using System.Threading;
using RingKV.Cli.Admin;
using Spectre.Console;

namespace RingKV.Cli;

/// <summary><c>ringkv repair</c>: starts a full anti-entropy pass on one node (KV.REPAIR), shows its progress and prints what it repaired.</summary>
internal static class RepairCommand
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(200);

    public static Command Create()
    {
        var host = new Option<string>("--host")
        {
            Description = "The node to repair from, host:port of its RESP address. Default 127.0.0.1:7379.",
            HelpName = "host:port",
            DefaultValueFactory = _ => "127.0.0.1:7379",
        };
        var password = new Option<string?>("--password") { Description = "AUTH with this password first (a node started with --password).", HelpName = "password" };
        var command = new Command("repair", "Run a full anti-entropy pass now on one node: it compares every token range it replicates with the other replicas through Merkle trees "
            + "and exchanges only the differing keys. Shows a progress bar (ranges done of total), then prints: repaired N keys in R ranges (D differed), sent B bytes "
            + "(the pass's messages both ways), T s. Exits 1 when the node is unreachable, not a cluster node, or already running a pass; 3 when some ranges failed (a replica did not answer).")
        {
            host,
            password,
        };
        command.SetAction(parse =>
        {
            var address = parse.GetValue(host)!;
            try
            {
                HostPort.Parse(address);
            }
            catch (RespClientException e)
            {
                Console.Error.WriteLine($"ringkv repair: --host {e.Message}");
                return 2;
            }

            try
            {
                var status = Run(address, parse.GetValue(password));
                Console.Out.WriteLine(status.Summary());
                return status.RangesFailed > 0 ? 3 : 0;
            }
            catch (Exception e) when (e is RespClientException or FormatException)
            {
                Console.Error.WriteLine($"ringkv repair: {e.Message}");
                return 1;
            }
        });
        return command;
    }

    /// <summary>Starts the pass and follows it to its end; the last status.</summary>
    private static RepairStatus Run(string address, string? password)
    {
        using var client = RespClient.Connect(address, StatusCommand.Timeout);
        if (password is not null && client.Call("AUTH", password) is { Kind: RespReplyKind.Error } refused)
        {
            throw new FormatException($"{address} refused AUTH: {refused.Text}");
        }

        var before = RepairStatus.Decode(client.Call("KV.REPAIR", "STATUS"), address);
        if (client.Call("KV.REPAIR") is { Kind: RespReplyKind.Error } error)
        {
            throw new FormatException($"{address} did not start a pass: {error.Text}");
        }

        var pass = before.Pass + 1;
        RepairStatus? last = null;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(progress =>
            {
                var bar = progress.AddTask($"pass {pass}: starting", autoStart: true);
                while (true)
                {
                    var status = RepairStatus.Decode(client.Call("KV.REPAIR", "STATUS"), address);
                    if (status.Pass >= pass)
                    {
                        bar.MaxValue = Math.Max(1, status.RangesTotal);
                        bar.Value = status.RangesDone;
                        bar.Description = $"pass {status.Pass}: {status.RangesDone}/{status.RangesTotal} ranges, {status.KeysRepaired} keys"; // short: the bar shares an 80-column line
                        if (!status.Running)
                        {
                            last = status;
                            bar.Value = bar.MaxValue;
                            return;
                        }
                    }

                    Thread.Sleep(Poll);
                }
            });
        return last!;
    }
}
