using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using RingKV.Testing.Processes;

namespace RingKV.Cli.Tests.Scaling;

/// <summary>
/// Client threads writing unique keys once each (SET at the nodes' default level, QUORUM here), one thread per port,
/// recording every acknowledged write and every failure with its time and error text.
/// </summary>
/// <remarks>
/// Thread-safe: each client thread owns its list of acknowledged writes until <see cref="Stop"/> joins the threads;
/// failures go to a list under <see cref="_gate"/>. <see cref="PauseBetweenWrites"/> throttles the clients (pacing,
/// not a wait for a condition): 0 is as fast as the nodes answer.
/// </remarks>
internal sealed class WriteOnceWorkload
{
    private readonly Stopwatch _clock;
    private readonly int _valueBytes;
    private readonly List<Thread> _threads = [];
    private readonly List<List<(string Key, string Value)>> _acknowledged = [];
    private readonly Lock _gate = new();
    private readonly List<(TimeSpan At, int Port, string Key, string Error)> _failures = []; // under _gate
    private long _writes;
    private volatile bool _stopping;
    private volatile int _pauseMilliseconds;

    public WriteOnceWorkload(Stopwatch clock, int valueBytes)
    {
        _clock = clock;
        _valueBytes = valueBytes;
    }

    /// <summary>Writes acknowledged so far, over every client.</summary>
    public long Acknowledged => Interlocked.Read(ref _writes);

    /// <summary>How long each client waits after each write; 0: none.</summary>
    public TimeSpan PauseBetweenWrites
    {
        get => TimeSpan.FromMilliseconds(_pauseMilliseconds);
        set => _pauseMilliseconds = (int)value.TotalMilliseconds;
    }

    /// <summary>The failures so far: when, through which node, which key, what error.</summary>
    public List<(TimeSpan At, int Port, string Key, string Error)> Failures()
    {
        lock (_gate)
        {
            return [.. _failures];
        }
    }

    /// <summary>The key and value of write <paramref name="sequence"/> of client <paramref name="client"/>: unique, <see cref="_valueBytes"/> long.</summary>
    public (string Key, string Value) Record(string client, long sequence)
    {
        var key = $"as:{client}:{sequence}";
        var value = $"{key}:".PadRight(_valueBytes, 'v');
        return (key, value);
    }

    /// <summary>Preloads <paramref name="count"/> writes through <paramref name="ports"/>, pipelined; they count as acknowledged when +OK.</summary>
    public void Preload(IReadOnlyList<int> ports, int count)
    {
        var acknowledged = new List<(string, string)>(count);
        const int Batch = 256;
        for (var start = 0; start < count; start += Batch)
        {
            var port = ports[start / Batch % ports.Count];
            using var client = new RawClient(new IPEndPoint(IPAddress.Loopback, port));
            var end = Math.Min(count, start + Batch);
            for (var i = start; i < end; i++)
            {
                var (key, value) = Record("pre", i);
                client.Send(RawClient.Encode("SET", key, value));
            }

            for (var i = start; i < end; i++)
            {
                var reply = RawClient.Describe(client.Read());
                var record = Record("pre", i);
                if (reply == "+OK")
                {
                    acknowledged.Add(record);
                }
                else
                {
                    lock (_gate)
                    {
                        _failures.Add((_clock.Elapsed, port, record.Key, "preload: " + reply));
                    }
                }
            }
        }

        Interlocked.Add(ref _writes, acknowledged.Count);
        _acknowledged.Add(acknowledged);
    }

    /// <summary>Starts one client thread per port.</summary>
    public void Start(IReadOnlyList<int> ports)
    {
        for (var i = 0; i < ports.Count; i++)
        {
            var acknowledged = new List<(string, string)>();
            _acknowledged.Add(acknowledged);
            var port = ports[i];
            var name = "c" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var thread = new Thread(() => Run(name, port, acknowledged)) { IsBackground = true, Name = "workload " + name };
            _threads.Add(thread);
            thread.Start();
        }
    }

    /// <summary>Stops the clients and returns every acknowledged write.</summary>
    public List<(string Key, string Value)> Stop()
    {
        _stopping = true;
        foreach (var thread in _threads)
        {
            thread.Join();
        }

        var all = new List<(string, string)>();
        foreach (var list in _acknowledged)
        {
            all.AddRange(list);
        }

        return all;
    }

    private void Run(string name, int port, List<(string Key, string Value)> acknowledged)
    {
        RawClient? client = null;
        for (long sequence = 0; !_stopping; sequence++)
        {
            var (key, value) = Record(name, sequence);
            string? error;
            try
            {
                client ??= new RawClient(new IPEndPoint(IPAddress.Loopback, port));
                var reply = RawClient.Describe(client.Call("SET", key, value));
                error = reply == "+OK" ? null : reply;
            }
            catch (Exception e) when (e is IOException or SocketException or InvalidOperationException)
            {
                error = $"{e.GetType().Name}: {e.Message}";
                client?.Dispose();
                client = null;
            }

            if (error is null)
            {
                acknowledged.Add((key, value));
                Interlocked.Increment(ref _writes);
            }
            else
            {
                lock (_gate)
                {
                    _failures.Add((_clock.Elapsed, port, key, error));
                }
            }

            if (_pauseMilliseconds > 0)
            {
                Thread.Sleep(_pauseMilliseconds);
            }
        }

        client?.Dispose();
    }
}
