using System;
using System.CommandLine;
using System.Diagnostics;
using System.IO;
using RingKV.Cli.Admin;

namespace RingKV.Cli;

/// <summary><c>ringkv decommission</c>: a live node leaves the cluster (KV.DECOMMISSION), streaming its ranges to their new owners, with a progress bar.</summary>
internal static class DecommissionCommand
{
    public static Command Create()
    {
        var host = Membership.HostOption("The node to decommission");
        var password = Membership.PasswordOption();
        var timeout = Membership.TimeoutOption("How long to follow the node's streams before giving up (the node goes on leaving)");
        var command = new Command("decommission", "Make a live node leave the cluster: it becomes LEAVING, streams every range it holds to the nodes that own it after it, "
            + "then is LEFT and its process exits. Shows a progress bar (percent of the streams, bytes moved, rate, time left; plain lines when stdout is not a terminal) "
            + "until another node sees it LEFT. Exits 1 with the node's error when it refuses (not a cluster node, a change in flight, too few nodes would remain), "
            + "when it stops answering before its streams end, or past --timeout.")
        {
            host,
            password,
            timeout,
        };
        command.SetAction(parse =>
        {
            var address = parse.GetValue(host)!;
            var seconds = parse.GetValue(timeout);
            if ((Membership.HostError(address) ?? Membership.TimeoutError(seconds)) is { } usage)
            {
                Console.Error.WriteLine($"ringkv decommission: {usage}");
                return 2;
            }

            return Run("ringkv decommission", address, parse.GetValue(password), TimeSpan.FromSeconds(seconds), ProgressView.IsLive, Console.Out, Console.Error);
        });
        return command;
    }

    /// <summary>
    /// Decommissions the node at <paramref name="address"/> and follows it until it is LEFT; 0 then, 1 (the reason
    /// written to <paramref name="errors"/> after <paramref name="command"/>) when it refuses, fails or times out.
    /// </summary>
    internal static int Run(string command, string address, string? password, TimeSpan timeout, bool live, TextWriter output, TextWriter errors)
    {
        string id;
        System.Collections.Generic.List<string> observers;
        long sentBefore;
        try
        {
            using var client = RespClient.Open(address, password, StatusCommand.Timeout);
            id = Membership.NodeId(client);
            observers = Membership.Observers(RingMember.DecodeRing(client.Call("KV.RING"), address), id);
            sentBefore = StreamingInfo.Ask(client).BytesSent;
            if (client.Call("KV.DECOMMISSION") is { Kind: RespReplyKind.Error } refused)
            {
                errors.WriteLine($"{command}: {id} ({address}) refused: {refused.Text}");
                return 1;
            }
        }
        catch (Exception e) when (e is RespClientException or FormatException)
        {
            errors.WriteLine($"{command}: {e.Message}");
            return 1;
        }

        var clock = Stopwatch.StartNew();
        var outcome = FollowLeave($"decommission {id}", address, id, password, observers, sentBefore, timeout, live, output);
        if (!outcome.Done)
        {
            var still = outcome.TimedOut ? $"; it goes on leaving: follow it with ringkv status{(observers.Count > 0 ? " --host " + observers[0] : "")}" : "";
            errors.WriteLine($"{command}: {outcome.Failure}{still}");
            return 1;
        }

        output.WriteLine($"{id} ({address}) decommissioned: LEFT after {clock.Elapsed.TotalSeconds:0.0} s");
        return 0;
    }

    /// <summary>
    /// Follows the node <paramref name="id"/> at <paramref name="address"/> while it leaves: percent from its INFO
    /// <c>streaming_change_percent</c>, bytes from its <c>streaming_bytes_sent</c> growth over
    /// <paramref name="sentBefore"/> (what it serves to the gainers is what moves). Done when one of
    /// <paramref name="observers"/> sees it LEFT, or when it stops answering after it reached 100 % (its process exits
    /// a few seconds after LEFT); failed when it stops answering before, or an observer sees it NORMAL again.
    /// </summary>
    internal static ProgressOutcome FollowLeave(string title, string address, string id, string? password, System.Collections.Generic.IReadOnlyList<string> observers,
        long sentBefore, TimeSpan timeout, bool live, TextWriter output)
    {
        RespClient? client = null;
        var clock = Stopwatch.StartNew();
        TimeSpan? ringCheckedAt = null;
        var reached = false;
        var sawLeaving = false;
        var percent = 0.0;
        var bytes = 0L;

        ProgressStep Poll()
        {
            if (ringCheckedAt is not { } checkedAt || clock.Elapsed - checkedAt >= Membership.RingCheckInterval)
            {
                ringCheckedAt = clock.Elapsed;
                switch (Membership.StateSeenBy(observers, id, password))
                {
                    case "LEFT":
                        return new ProgressStep(100, bytes, Done: true);
                    case "LEAVING":
                        sawLeaving = true;
                        break;
                    case "NORMAL" when sawLeaving:
                        return new ProgressStep(percent, bytes, Failure: $"{id} is NORMAL again: its decommission was abandoned (see its log)");
                }
            }

            try
            {
                client ??= RespClient.Open(address, password, Membership.ProbeTimeout);
                var info = StreamingInfo.Ask(client);
                percent = info.ChangePercent;
                bytes = Math.Max(0, info.BytesSent - sentBefore);
                reached |= percent >= 100;
                return new ProgressStep(percent, bytes);
            }
            catch (Exception e) when (e is RespClientException or FormatException)
            {
                client?.Dispose();
                client = null;
                if (reached || Membership.StateSeenBy(observers, id, password) == "LEFT")
                {
                    return new ProgressStep(100, bytes, Done: true);
                }

                return new ProgressStep(percent, bytes, Failure: $"{id} ({address}) stopped answering at {percent:0.0}% before it left: {e.Message}");
            }
        }

        try
        {
            return ProgressView.Follow(title, Poll, timeout, live, output);
        }
        finally
        {
            client?.Dispose();
        }
    }
}
