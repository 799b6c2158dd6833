using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Net;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using RingKV.Net.Peers;
using Xunit;

namespace RingKV.Net.Tests.Peers;

/// <summary>Waits for a condition with a deadline (never a fixed sleep).</summary>
internal static class Wait
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    public static async Task UntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"timed out waiting until {what}");
            }

            await Task.Delay(2, TestContext.Current.CancellationToken);
        }
    }
}

/// <summary>Keeps every log line.</summary>
internal sealed class ListLogger : ILogger
{
    private readonly ConcurrentQueue<(LogLevel Level, string Message)> _lines = new();

    public IReadOnlyCollection<(LogLevel Level, string Message)> Lines => _lines;

    public bool Contains(LogLevel level, string text)
    {
        foreach (var (lineLevel, message) in _lines)
        {
            if (lineLevel == level && message.Contains(text, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        _lines.Enqueue((logLevel, formatter(state, exception)));
}

/// <summary>Records what a link tells its observer.</summary>
internal sealed class RecordingObserver : IPeerLinkObserver
{
    private readonly Lock _lock = new();
    private readonly List<PeerFrameId> _failed = [];
    private readonly List<PeerLinkDown> _downs = [];
    private readonly List<PeerHello> _connected = [];

    public List<PeerFrameId> Failed
    {
        get
        {
            lock (_lock)
            {
                return [.. _failed];
            }
        }
    }

    public List<PeerLinkDown> Downs
    {
        get
        {
            lock (_lock)
            {
                return [.. _downs];
            }
        }
    }

    public List<PeerHello> Connected
    {
        get
        {
            lock (_lock)
            {
                return [.. _connected];
            }
        }
    }

    /// <summary>Called with each failed frame, after it is recorded.</summary>
    public Action<PeerLink, PeerFrameId>? OnFailed { get; set; }

    public void OnConnected(PeerLink link, PeerHello remote)
    {
        lock (_lock)
        {
            _connected.Add(remote);
        }
    }

    public void OnDisconnected(PeerLink link, PeerLinkDown down)
    {
        lock (_lock)
        {
            _downs.Add(down);
        }
    }

    public void OnFramesFailed(PeerLink link, ReadOnlySpan<PeerFrameId> frames)
    {
        lock (_lock)
        {
            _failed.AddRange(frames);
        }

        foreach (var frame in frames)
        {
            OnFailed?.Invoke(link, frame);
        }
    }
}

/// <summary>Copies every received frame, counts batches, and releases them; can hold the receive loop at a gate.</summary>
internal sealed class CollectingHandler : IPeerFrameHandler
{
    private readonly Lock _lock = new();
    private readonly List<DecodedFrame> _frames = [];
    private readonly List<string> _senders = [];
    private TaskCompletionSource? _gate;
    private int _batches;

    public List<DecodedFrame> Frames
    {
        get
        {
            lock (_lock)
            {
                return [.. _frames];
            }
        }
    }

    public int FrameCount
    {
        get
        {
            lock (_lock)
            {
                return _frames.Count;
            }
        }
    }

    public List<string> Senders
    {
        get
        {
            lock (_lock)
            {
                return [.. _senders];
            }
        }
    }

    public int Batches => Volatile.Read(ref _batches);

    /// <summary>Holds every receive loop after its next batch until <see cref="Open"/>.</summary>
    public void Close()
    {
        lock (_lock)
        {
            _gate ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    public void Open()
    {
        TaskCompletionSource? gate;
        lock (_lock)
        {
            gate = _gate;
            _gate = null;
        }

        gate?.SetResult();
    }

    public ValueTask OnBatchAsync(PeerFrameBatch batch)
    {
        Task? wait;
        lock (_lock)
        {
            for (var i = 0; i < batch.Count; i++)
            {
                var frame = batch[i];
                _frames.Add(new DecodedFrame(frame.Kind, frame.RequestId, frame.Payload.ToArray()));
            }

            if (!_senders.Contains(batch.RemoteNodeId))
            {
                _senders.Add(batch.RemoteNodeId);
            }

            wait = _gate?.Task;
        }

        Interlocked.Increment(ref _batches);
        batch.Release();
        return wait is null ? ValueTask.CompletedTask : new ValueTask(wait);
    }
}

/// <summary>A deterministic jitter source: the given values in turn.</summary>
internal sealed class SequenceJitter(params double[] values)
{
    private int _next;

    public double Next() => values[_next++ % values.Length];
}

internal static class Peers
{
    public static readonly PeerHello NodeA = new("test-cluster", "node-a", 1);
    public static readonly PeerHello NodeB = new("test-cluster", "node-b", 1);

    public static IPEndPoint Loopback(int port = 0) => new(IPAddress.Loopback, port);

    public static PeerLinkOptions LinkOptions(PeerHello local) => new(local)
    {
        InitialBackoff = TimeSpan.FromMilliseconds(10),
        MaxBackoff = TimeSpan.FromMilliseconds(40),
        Jitter = new SequenceJitter(0.5).Next,
    };

    public static PeerListener Listen(PeerHello local, IPeerFrameHandler handler, ILogger? logger = null, int port = 0)
    {
        var listener = new PeerListener(Loopback(port), new PeerListenerOptions(local), handler, logger);
        listener.Start();
        return listener;
    }

    public static PeerLink Link(PeerListener to, PeerHello local, IPeerLinkObserver? observer = null, ILogger? logger = null, PeerLinkOptions? options = null)
    {
        var link = new PeerLink(to.LocalEndPoint, options ?? LinkOptions(local), observer, logger);
        link.Start();
        return link;
    }
}
