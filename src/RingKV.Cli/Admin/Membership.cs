using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Globalization;

namespace RingKV.Cli.Admin;

/// <summary>What the membership commands (decommission, removenode, cleanup, cluster add and remove) share: their options and a few questions to nodes.</summary>
internal static class Membership
{
    /// <summary>The default of their <c>--timeout</c>, in seconds: streams of a large node at a throttled rate take long.</summary>
    public const int DefaultTimeoutSeconds = 600;

    /// <summary>The default of <c>--host</c>: node1 of a default <c>cluster up</c>, as <c>status</c> and <c>repair</c> default to.</summary>
    public const string DefaultHost = "127.0.0.1:7379";

    /// <summary>How long one poll's connect or reply may take.</summary>
    public static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);

    /// <summary>How often another node's view of the ring is asked while a change runs (the local counters are polled more often).</summary>
    public static readonly TimeSpan RingCheckInterval = TimeSpan.FromSeconds(1);

    public static Option<string> HostOption(string what) => new("--host")
    {
        Description = $"{what}, host:port of its RESP address. Default {DefaultHost}.",
        HelpName = "host:port",
        DefaultValueFactory = _ => DefaultHost,
    };

    public static Option<string?> PasswordOption() => new("--password") { Description = "AUTH with this password first (nodes started with --password).", HelpName = "password" };

    public static Option<int> TimeoutOption(string what) => new("--timeout")
    {
        Description = $"{what}, in seconds. Default {DefaultTimeoutSeconds}.",
        HelpName = "seconds",
        DefaultValueFactory = _ => DefaultTimeoutSeconds,
    };

    /// <summary>Why <paramref name="address"/> is not a usable --host, or null when it is.</summary>
    public static string? HostError(string address)
    {
        try
        {
            HostPort.Parse(address);
            return null;
        }
        catch (RespClientException e)
        {
            return $"--host {e.Message}";
        }
    }

    /// <summary>Why <paramref name="seconds"/> is not a usable --timeout, or null when it is.</summary>
    public static string? TimeoutError(int seconds) => seconds < 1 ? $"--timeout must be at least 1 second, not {seconds.ToString(CultureInfo.InvariantCulture)}" : null;

    /// <summary>The node id of <paramref name="client"/>'s node (INFO cluster <c>ringkv_node_id</c>).</summary>
    /// <exception cref="RespClientException">It did not answer.</exception>
    /// <exception cref="FormatException">It is not a cluster node.</exception>
    public static string NodeId(RespClient client)
    {
        var fields = StreamingInfo.Fields(client.Call("INFO", "cluster"), client.Address);
        return fields.TryGetValue("ringkv_node_id", out var id) && id.Length > 0
            ? id
            : throw new FormatException($"{client.Address} is not a cluster node (its INFO has no ringkv_node_id)");
    }

    /// <summary>The RESP addresses of the members other than <paramref name="id"/> that are NORMAL and UP: who can see a change from outside.</summary>
    public static List<string> Observers(IReadOnlyList<RingMember> members, string id)
    {
        var observers = new List<string>();
        foreach (var member in members)
        {
            if (member.Id != id && member.IsNormalAndUp)
            {
                observers.Add(member.Address);
            }
        }

        return observers;
    }

    /// <summary>
    /// The state of <paramref name="id"/> in the ring of the first of <paramref name="observers"/> that answers
    /// (JOINING, NORMAL, LEAVING, LEFT), or null when none answers. A node the one answering no longer lists has left:
    /// LEFT nodes stay listed only for a while.
    /// </summary>
    /// <remarks>Requires: <paramref name="id"/> was a member the observers knew (a node being decommissioned or removed).</remarks>
    public static string? StateSeenBy(IReadOnlyList<string> observers, string id, string? password)
    {
        foreach (var observer in observers)
        {
            try
            {
                using var client = RespClient.Open(observer, password, ProbeTimeout);
                foreach (var member in RingMember.DecodeRing(client.Call("KV.RING"), observer))
                {
                    if (member.Id == id)
                    {
                        return member.State;
                    }
                }

                return "LEFT";
            }
            catch (Exception e) when (e is RespClientException or FormatException)
            {
                // Ask the next one.
            }
        }

        return null;
    }
}
