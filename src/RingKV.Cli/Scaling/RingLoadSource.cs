using System;
using System.Collections.Generic;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;
using RingKV.Cli.Admin;

namespace RingKV.Cli.Scaling;

/// <summary>Reads KV.RING and INFO cluster from the first node that answers among the addresses given.</summary>
/// <remarks>
/// The addresses are asked for afresh at every read (a <c>cluster up</c> directory gains and loses nodes as the
/// autoscaler works). Blocking calls, each bounded by the timeout: the loop has nothing else to do meanwhile.
/// </remarks>
internal sealed class RingLoadSource(Func<IReadOnlyList<string>> addresses, string? password, TimeSpan timeout) : ILoadSource
{
    public Task<ClusterLoad> ReadAsync(CancellationToken cancel)
    {
        var failures = new List<string>();
        var asked = addresses();
        foreach (var address in asked)
        {
            cancel.ThrowIfCancellationRequested();
            try
            {
                using var client = RespClient.Connect(address, timeout);
                if (password is not null && client.Call("AUTH", password) is { Kind: RespReplyKind.Error } refused)
                {
                    failures.Add($"{address} refused AUTH: {refused.Text}");
                    continue;
                }

                var members = RingMember.DecodeRing(client.Call("KV.RING"), address);
                var info = client.Call("INFO", "cluster");
                return Task.FromResult(new ClusterLoad(members, ReplicationFactor(info.Text ?? ""), address));
            }
            catch (Exception e) when (e is RespClientException or FormatException)
            {
                failures.Add(e.Message);
            }
        }

        throw new ProviderException(asked.Count == 0 ? "no node to ask" : $"no node answered KV.RING: {string.Join("; ", failures)}");
    }

    /// <summary>
    /// INFO's <c>ringkv_replication</c>: <c>3</c>, or per data center <c>dc1:3,dc2:2</c> (summed: the fewest nodes that can
    /// hold every replica); 1 when the line is missing (the node then refuses a decommission below its replication anyway).
    /// </summary>
    public static int ReplicationFactor(string info)
    {
        foreach (var raw in info.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (!line.StartsWith("ringkv_replication:", StringComparison.Ordinal))
            {
                continue;
            }

            var total = 0;
            foreach (var part in line["ringkv_replication:".Length..].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var count = part.Contains(':', StringComparison.Ordinal) ? part[(part.LastIndexOf(':') + 1)..] : part;
                if (int.TryParse(count, NumberStyles.None, CultureInfo.InvariantCulture, out var n))
                {
                    total += n;
                }
            }

            return Math.Max(1, total);
        }

        return 1;
    }
}
