using System;
using System.Collections.Generic;
using System.CommandLine;
using System.IO;
using RingKV.Cli.Admin;
using RingKV.Cli.Scaling;

namespace RingKV.Cli;

/// <summary><c>ringkv status</c>: asks one node for its view of the ring (KV.RING) and prints it like <c>nodetool status</c>.</summary>
internal static class StatusCommand
{
    /// <summary>How long the node has to accept the connection, and then to answer each command.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    public static Command Create()
    {
        var host = new Option<string>("--host")
        {
            Description = "The node to ask, host:port of its RESP address. Default 127.0.0.1:7379.",
            HelpName = "host:port",
            DefaultValueFactory = _ => "127.0.0.1:7379",
        };
        var json = new Option<bool>("--json")
        {
            Description = "Print JSON: { \"nodes\": [ { \"id\", \"address\", \"peer\", \"dc\", \"rack\", \"state\", \"status\", \"capacity\", \"ownership\", \"tokens\", \"load\", \"hints\" } ] }; "
            + "JOINING and LEAVING nodes also have \"streamed\" (percent, null when the node does not answer); LEFT nodes are listed here, not in the table."
        };
        var password = new Option<string?>("--password") { Description = "AUTH with this password first (a node started with --password).", HelpName = "password" };
        var directory = new Option<string>("--data-dir")
        {
            Description = "A `ringkv cluster up` directory: when ringkv autoscale writes its last decision there (autoscale.json), an Autoscaler: line follows the table. Default ./cluster.",
            HelpName = "path",
            DefaultValueFactory = _ => LocalCluster.DefaultDirectory,
        };
        var command = new Command("status", "Print the cluster as one node sees it: per node UN/DN/UJ/UL (up or down; normal, joining or leaving; joining and leaving ones with the percent streamed, ? when unknown), "
            + "address, data center, rack, load, tokens, ownership, hints and id. LEFT nodes are named under the table; the autoscaler's last decision follows it when --data-dir has one.")
        {
            host,
            json,
            password,
            directory,
        };
        command.SetAction(parse =>
        {
            var address = parse.GetValue(host)!;
            IReadOnlyList<RingMember> members;
            try
            {
                HostPort.Parse(address);
            }
            catch (RespClientException e)
            {
                Console.Error.WriteLine($"ringkv status: --host {e.Message}");
                return 2;
            }

            try
            {
                members = AskRing(address, parse.GetValue(password), Timeout);
            }
            catch (Exception e) when (e is RespClientException or FormatException)
            {
                Console.Error.WriteLine($"ringkv status: {e.Message}");
                return 1;
            }

            var streamed = AskStreamed(members, parse.GetValue(password));
            Console.Out.Write(parse.GetValue(json) ? StatusReport.Json(members, streamed) : StatusReport.Table(members, streamed));
            if (!parse.GetValue(json) && AutoscalerLine(parse.GetValue(directory)!, DateTimeOffset.UtcNow) is { } line)
            {
                Console.Out.WriteLine(line);
            }

            return 0;
        });
        return command;
    }

    /// <summary>
    /// The percent streamed of each JOINING or LEAVING node, from its own INFO <c>streaming_change_percent</c> at its
    /// RESP address; null for one that does not answer within <see cref="Membership.ProbeTimeout"/>.
    /// </summary>
    public static Dictionary<string, double?> AskStreamed(IReadOnlyList<RingMember> members, string? password)
    {
        var streamed = new Dictionary<string, double?>(StringComparer.Ordinal);
        foreach (var member in members)
        {
            if (!StatusReport.IsStreaming(member))
            {
                continue;
            }

            try
            {
                using var client = RespClient.Open(member.Address, password, Membership.ProbeTimeout);
                streamed[member.Id] = StreamingInfo.Ask(client).ChangePercent;
            }
            catch (Exception e) when (e is RespClientException or FormatException)
            {
                streamed[member.Id] = null;
            }
        }

        return streamed;
    }

    /// <summary>
    /// The autoscaler's last decision from DIR/autoscale.json (<see cref="AutoscaleStatus"/>), or null when there is none:
    /// INFO cannot show it, the autoscaler being a process of its own.
    /// </summary>
    internal static string? AutoscalerLine(string directory, DateTimeOffset now) =>
        AutoscaleStatus.TryRead(Path.Combine(directory, AutoscaleStatus.FileName))?.Line(now);

    /// <summary>Connects to <paramref name="address"/>, authenticates when a password is given, and reads its KV.RING.</summary>
    /// <exception cref="RespClientException">The node did not answer.</exception>
    /// <exception cref="FormatException">The node refused AUTH or KV.RING, or its reply has another shape.</exception>
    public static IReadOnlyList<RingMember> AskRing(string address, string? password, TimeSpan timeout)
    {
        using var client = RespClient.Open(address, password, timeout);
        return RingMember.DecodeRing(client.Call("KV.RING"), address);
    }
}
