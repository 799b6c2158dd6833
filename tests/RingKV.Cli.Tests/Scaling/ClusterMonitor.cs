using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using RingKV.Cli.Admin;

namespace RingKV.Cli.Tests.Scaling;

/// <summary>
/// Samples a cluster every half second from outside: the ring as the first answering seed sees it, and every member's
/// cumulative INFO streaming_bytes_received/sent (the highest seen per node, so a node that exited keeps its figure).
/// </summary>
/// <remarks>Thread-safe: one sampling thread; readers copy under <see cref="_gate"/>.</remarks>
internal sealed class ClusterMonitor : IDisposable
{
    private static readonly TimeSpan Period = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    private readonly Stopwatch _clock;
    private readonly IReadOnlyList<string> _seeds;
    private readonly Func<long> _keys;
    private readonly Thread _thread;
    private volatile bool _stopping;

    private readonly Lock _gate = new();
    private readonly Dictionary<string, (long Received, long Sent)> _bytes = new(StringComparer.Ordinal); // under _gate
    private readonly List<Sample> _samples = []; // under _gate
    private readonly List<(TimeSpan At, string View)> _changes = []; // under _gate

    /// <param name="clock">The run's clock: samples are stamped with it.</param>
    /// <param name="seeds">RESP addresses to read the ring from, the first that answers.</param>
    /// <param name="keys">How many keys the workload has written so far, recorded with each sample.</param>
    public ClusterMonitor(Stopwatch clock, IReadOnlyList<string> seeds, Func<long> keys)
    {
        _clock = clock;
        _seeds = seeds;
        _keys = keys;
        _thread = new Thread(Run) { IsBackground = true, Name = "cluster monitor" };
        _thread.Start();
    }

    /// <summary>One look at the cluster: NORMAL members, whether a change is in flight, the ring in one line, streamed bytes and keys written so far.</summary>
    internal sealed record Sample(TimeSpan At, int Normal, bool InFlight, string View, long Received, long Sent, long Keys);

    public Sample? Last()
    {
        lock (_gate)
        {
            return _samples.Count == 0 ? null : _samples[^1];
        }
    }

    /// <summary>The last sample taken at or before <paramref name="at"/>, else the first.</summary>
    public Sample? Before(TimeSpan at) => Find(at, before: true);

    /// <summary>The first sample taken at or after <paramref name="at"/>, else the last.</summary>
    public Sample? After(TimeSpan at) => Find(at, before: false);

    /// <summary>Each time the ring's one-line view changed, and to what.</summary>
    public List<(TimeSpan At, string View)> Changes()
    {
        lock (_gate)
        {
            return [.. _changes];
        }
    }

    public void Dispose()
    {
        _stopping = true;
        _thread.Join();
    }

    private Sample? Find(TimeSpan at, bool before)
    {
        lock (_gate)
        {
            Sample? found = null;
            foreach (var sample in _samples)
            {
                if (before ? sample.At <= at : sample.At >= at)
                {
                    found = sample;
                    if (!before)
                    {
                        break;
                    }
                }
            }

            return found ?? (_samples.Count == 0 ? null : before ? _samples[0] : _samples[^1]);
        }
    }

    private void Run()
    {
        while (!_stopping)
        {
            var at = _clock.Elapsed;
            var keys = _keys();
            if (Ring() is { } members)
            {
                var normal = 0;
                var inFlight = false;
                var parts = new List<string>();
                foreach (var member in StatusReport.Sorted(members))
                {
                    if (member.State == "LEFT")
                    {
                        continue;
                    }

                    normal += member.IsNormalAndUp ? 1 : 0;
                    inFlight |= member.State is "JOINING" or "LEAVING";
                    parts.Add($"{member.Id} {StatusReport.StateCode(member)}");
                    try
                    {
                        using var client = RespClient.Open(member.Address, null, Timeout);
                        var info = StreamingInfo.Ask(client);
                        lock (_gate)
                        {
                            var seen = _bytes.GetValueOrDefault(member.Id);
                            _bytes[member.Id] = (Math.Max(seen.Received, info.BytesReceived), Math.Max(seen.Sent, info.BytesSent));
                        }
                    }
                    catch (Exception e) when (e is RespClientException or FormatException)
                    {
                        // Gone or busy: its last figures stay.
                    }
                }

                var view = string.Join(", ", parts);
                lock (_gate)
                {
                    long received = 0, sent = 0;
                    foreach (var (r, s) in _bytes.Values)
                    {
                        received += r;
                        sent += s;
                    }

                    if (_changes.Count == 0 || _changes[^1].View != view)
                    {
                        _changes.Add((at, view));
                    }

                    _samples.Add(new Sample(at, normal, inFlight, view, received, sent, keys));
                }
            }

            var next = at + Period - _clock.Elapsed;
            if (next > TimeSpan.Zero)
            {
                Thread.Sleep(next); // the sampling period, not a wait for a condition
            }
        }
    }

    private IReadOnlyList<RingMember>? Ring()
    {
        foreach (var seed in _seeds)
        {
            try
            {
                return StatusCommand.AskRing(seed, null, Timeout);
            }
            catch (Exception e) when (e is RespClientException or FormatException)
            {
                // The next seed.
            }
        }

        return null;
    }
}
