using System;
using System.Collections.Generic;
using System.CommandLine;
using System.IO;
using RingKV.Cli.Admin;

namespace RingKV.Cli;

/// <summary><c>ringkv cleanup</c>: KV.CLEANUP on one node or on every node of the ring: each drops the keys it no longer replicates.</summary>
internal static class CleanupCommand
{
    /// <summary>How long one node's KV.CLEANUP may take: it scans what the node stores.</summary>
    private static readonly TimeSpan CleanupTimeout = TimeSpan.FromMinutes(10);

    public static Command Create()
    {
        var host = Membership.HostOption("The node to clean up (with --all: the node whose ring lists the nodes)");
        var all = new Option<bool>("--all") { Description = "Clean up every node of the ring (the members --host's KV.RING lists, LEFT ones skipped), one after another." };
        var password = Membership.PasswordOption();
        var command = new Command("cleanup", "Drop the keys a node keeps but no longer replicates (after a node joined, its old replicas keep copies until cleaned up). "
            + "Prints the keys removed per node. Exits 1 when a node is unreachable, DOWN or refuses (a membership change in flight).")
        {
            host,
            all,
            password,
        };
        command.SetAction(parse =>
        {
            var address = parse.GetValue(host)!;
            if (Membership.HostError(address) is { } usage)
            {
                Console.Error.WriteLine($"ringkv cleanup: {usage}");
                return 2;
            }

            return Run(address, parse.GetValue(all), parse.GetValue(password), Console.Out, Console.Error);
        });
        return command;
    }

    /// <summary>Cleans up the node at <paramref name="address"/>, or with <paramref name="all"/> every member its ring lists; 0 when every node did.</summary>
    internal static int Run(string address, bool all, string? password, TextWriter output, TextWriter errors)
    {
        const string Command = "ringkv cleanup";
        var targets = new List<(string Id, string Address, string? Skip)>();
        if (!all)
        {
            targets.Add((address, address, null));
        }
        else
        {
            try
            {
                foreach (var member in StatusReport.Sorted(StatusCommand.AskRing(address, password, StatusCommand.Timeout)))
                {
                    if (member.State != "LEFT")
                    {
                        targets.Add((member.Id, member.Address, member.Status == "UP" ? null : $"{member.Status}, not cleaned up"));
                    }
                }
            }
            catch (Exception e) when (e is RespClientException or FormatException)
            {
                errors.WriteLine($"{Command}: {e.Message}");
                return 1;
            }
        }

        var failed = 0;
        var removed = 0L;
        foreach (var (id, target, skip) in targets)
        {
            var name = id == target ? target : $"{id} ({target})";
            if (skip is not null)
            {
                errors.WriteLine($"{Command}: {name} is {skip}");
                failed++;
                continue;
            }

            try
            {
                using var client = RespClient.Open(target, password, CleanupTimeout);
                var reply = client.Call("KV.CLEANUP");
                if (reply is { Kind: RespReplyKind.Integer, Text: { } text } && long.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var keys))
                {
                    output.WriteLine($"{name}: removed {keys} keys");
                    removed += keys;
                }
                else
                {
                    errors.WriteLine(reply.Kind == RespReplyKind.Error ? $"{Command}: {name} refused: {reply.Text}" : $"{Command}: {name} answered KV.CLEANUP with {reply}, not a key count");
                    failed++;
                }
            }
            catch (Exception e) when (e is RespClientException or FormatException)
            {
                errors.WriteLine($"{Command}: {e.Message}");
                failed++;
            }
        }

        if (all)
        {
            output.WriteLine($"removed {removed} keys on {targets.Count - failed} of {targets.Count} node(s)");
        }

        return failed == 0 ? 0 : 1;
    }
}
