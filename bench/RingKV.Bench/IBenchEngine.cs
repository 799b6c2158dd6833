using System;

namespace RingKV.Bench;

/// <summary>The few operations the workloads need, implemented by each engine under test.</summary>
/// <remarks>
/// Thread-safe as the engines are: each implementation keeps its per-call scratch buffers in
/// thread-static fields, so worker threads never share one. No method allocates in the harness;
/// what an engine's own API allocates is that engine's cost.
/// </remarks>
internal interface IBenchEngine : IDisposable
{
    /// <summary>The name in the CSV: <c>ringkv</c> or <c>rocksdb</c>.</summary>
    string Name { get; }

    /// <summary>The engine's directory.</summary>
    string Directory { get; }

    /// <summary>Stores a value under a user key.</summary>
    void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value);

    /// <summary>Reads the value of a user key into this thread's reused buffer; false when absent.</summary>
    /// <param name="key">The user key.</param>
    /// <param name="value">The value, valid until this thread's next call.</param>
    bool TryGet(ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value);

    /// <summary>
    /// Copies up to <paramref name="count"/> consecutive records (user key, value), from the first one at or after
    /// <paramref name="startToken"/>, into <paramref name="records"/> (cleared first); how many were read.
    /// </summary>
    int Scan(ulong startToken, int count, ScanBuffer records);

    /// <summary>Total size of the files under <see cref="Directory"/>, in bytes.</summary>
    long DirectoryBytes();

    /// <summary>Flushes memtables and compacts every table so reads touch table files; waits for both.</summary>
    void FlushAndCompact();

    /// <summary>A line for the progress log that shows the settings took effect.</summary>
    string Describe();
}
