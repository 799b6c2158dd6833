using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Diagnostics;
using System.IO;
using RingKV.Cli.Admin;

namespace RingKV.Cli;

/// <summary><c>ringkv removenode</c>: a live node removes a DOWN one (KV.REMOVENODE); its ranges stream from the other replicas to their new owners.</summary>
internal static class RemoveNodeCommand
{
    public static Command Create()
    {
        var node = new Argument<string>("node-id") { Description = "The id of the DOWN node to remove (as ringkv status shows it)." };
        var host = Membership.HostOption("A live node to run the removal");
        var password = Membership.PasswordOption();
        var timeout = Membership.TimeoutOption("How long to follow the streams before giving up (the removal goes on)");
        var command = new Command("removenode", "Remove a DOWN node for good: a live node streams the ranges it held from their other replicas to the nodes that own them "
            + "after it, then marks it LEFT. Shows a progress bar (percent, bytes the live nodes received, rate, time left; plain lines when stdout is not a terminal). "
            + "For a live node use decommission. Exits 1 with the node's error when it refuses (unknown node, node UP, a change in flight) or fails, or past --timeout.")
        {
            node,
            host,
            password,
            timeout,
        };
        command.SetAction(parse =>
        {
            var id = parse.GetValue(node)!;
            var address = parse.GetValue(host)!;
            var seconds = parse.GetValue(timeout);
            var usage = string.IsNullOrWhiteSpace(id) ? "the node id is empty" : Membership.HostError(address) ?? Membership.TimeoutError(seconds);
            if (usage is not null)
            {
                Console.Error.WriteLine($"ringkv removenode: {usage}");
                return 2;
            }

            return Run(id, address, parse.GetValue(password), TimeSpan.FromSeconds(seconds), ProgressView.IsLive, Console.Out, Console.Error);
        });
        return command;
    }

    /// <summary>Removes <paramref name="id"/> through the node at <paramref name="address"/> and follows it to LEFT; 0 then, 1 (the reason written) otherwise.</summary>
    internal static int Run(string id, string address, string? password, TimeSpan timeout, bool live, TextWriter output, TextWriter errors)
    {
        const string Command = "ringkv removenode";
        var gainers = new List<(string Address, long Before)>();
        try
        {
            using var client = RespClient.Open(address, password, StatusCommand.Timeout);
            foreach (var member in RingMember.DecodeRing(client.Call("KV.RING"), address))
            {
                if (member.Id != id && member.Status == "UP" && member.State != "LEFT")
                {
                    gainers.Add((member.Address, ReceivedOrZero(member.Address, password)));
                }
            }

            if (client.Call("KV.REMOVENODE", id) is { Kind: RespReplyKind.Error } refused)
            {
                errors.WriteLine($"{Command}: {address} refused to remove {id}: {refused.Text}");
                return 1;
            }
        }
        catch (Exception e) when (e is RespClientException or FormatException)
        {
            errors.WriteLine($"{Command}: {e.Message}");
            return 1;
        }

        var clock = Stopwatch.StartNew();
        var outcome = Follow(id, address, password, gainers, timeout, live, output);
        if (!outcome.Done)
        {
            var still = outcome.TimedOut ? $"; the removal goes on: follow it with ringkv status --host {address}" : "";
            errors.WriteLine($"{Command}: {outcome.Failure}{still}");
            return 1;
        }

        output.WriteLine($"{id} removed: LEFT after {clock.Elapsed.TotalSeconds:0.0} s");
        return 0;
    }

    /// <summary>
    /// Polls the remover's INFO for the percent, sums the gainers' <c>streaming_bytes_received</c> growth (a gainer that
    /// does not answer keeps its last count), and asks the remover's ring for <paramref name="id"/>'s state once a second.
    /// </summary>
    private static ProgressOutcome Follow(string id, string address, string? password, List<(string Address, long Before)> gainers, TimeSpan timeout, bool live, TextWriter output)
    {
        var received = new long[gainers.Count];
        var clock = Stopwatch.StartNew();
        TimeSpan? ringCheckedAt = null;
        var percent = 0.0;
        RespClient? remover = null;

        long Bytes()
        {
            var sum = 0L;
            for (var i = 0; i < gainers.Count; i++)
            {
                sum += received[i];
            }

            return sum;
        }

        ProgressStep Poll()
        {
            try
            {
                remover ??= RespClient.Open(address, password, Membership.ProbeTimeout);
                percent = StreamingInfo.Ask(remover).ChangePercent;
                if (ringCheckedAt is not { } checkedAt || clock.Elapsed - checkedAt >= Membership.RingCheckInterval)
                {
                    ringCheckedAt = clock.Elapsed;
                    for (var i = 0; i < gainers.Count; i++)
                    {
                        received[i] = Math.Max(received[i], ReceivedOrZero(gainers[i].Address, password) - gainers[i].Before);
                    }

                    if (Membership.StateSeenBy([address], id, password) == "LEFT")
                    {
                        return new ProgressStep(100, Bytes(), Done: true);
                    }
                }

                return new ProgressStep(percent, Bytes());
            }
            catch (Exception e) when (e is RespClientException or FormatException)
            {
                remover?.Dispose();
                remover = null;
                return new ProgressStep(percent, Bytes(), Failure: $"{address}, which runs the removal, stopped answering at {percent:0.0}%: {e.Message}");
            }
        }

        try
        {
            return ProgressView.Follow($"remove {id}", Poll, timeout, live, output);
        }
        finally
        {
            remover?.Dispose();
        }
    }

    /// <summary>A node's <c>streaming_bytes_received</c>, or 0 when it does not answer.</summary>
    private static long ReceivedOrZero(string address, string? password)
    {
        try
        {
            using var client = RespClient.Open(address, password, Membership.ProbeTimeout);
            return StreamingInfo.Ask(client).BytesReceived;
        }
        catch (Exception e) when (e is RespClientException or FormatException)
        {
            return 0;
        }
    }
}
