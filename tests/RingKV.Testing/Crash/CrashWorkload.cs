using System.Globalization;
using System.IO.Hashing;
using System.Text;
using RingKV.Core.Random;

namespace RingKV.Testing.Crash;

/// <summary>What the crash worker writes and how its stdout lines read; shared by the worker and the test that kills it.</summary>
/// <remarks>
/// Line protocol, one operation per line, each line written whole and flushed:
/// <c>op put w1-37</c> before the engine is called, <c>ack put w1-37</c> after it returned
/// (likewise <c>op del</c> / <c>ack del</c>). So after a kill each writer thread has at most one operation
/// in flight: its last <c>op</c> without an <c>ack</c>.
/// </remarks>
public static class CrashWorkload
{
    /// <summary>
    /// The engine settings of the worker, and of the test when it reopens the worker's directory: sync always, and
    /// sizes small enough that flushes and compactions happen while the worker is killed.
    /// </summary>
    public static RingKV.Storage.StorageOptions EngineOptions(string directory) => new()
    {
        Directory = directory,
        Sync = RingKV.Storage.SyncPolicy.Always,
        MemtableBytes = 256 << 10,
        BlockCacheBytes = 1 << 20,
        TargetFileBytes = 256 << 10,
        Level1Bytes = 1 << 20,
        TombstoneGrace = System.TimeSpan.Zero,
    };

    /// <summary>The line the worker prints once the engine is open.</summary>
    public const string ReadyLine = "ready";

    /// <summary>The key thread <paramref name="thread"/> writes as its <paramref name="index"/>-th operation.</summary>
    public static string Key(int thread, long index) => string.Create(CultureInfo.InvariantCulture, $"w{thread}-{index}");

    /// <summary>The only value ever stored under <paramref name="key"/>: 20 to 2000 bytes derived from a hash of the key, so a torn or misplaced value is detectable.</summary>
    public static byte[] ValueFor(string key)
    {
        var hash = XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(key), seed: 0x5EED);
        var rng = new SplitMix64((long)hash);
        var value = new byte[20 + rng.Next(1981)];
        rng.NextBytes(value);
        return value;
    }

    /// <summary>Parses <c>op|ack put|del key</c>; false for any other line.</summary>
    public static bool TryParse(string line, out bool isAck, out bool isPut, out string key)
    {
        isAck = false;
        isPut = false;
        key = "";
        var parts = line.Split(' ');
        if (parts.Length != 3 || (parts[0] != "op" && parts[0] != "ack") || (parts[1] != "put" && parts[1] != "del"))
        {
            return false;
        }

        isAck = parts[0] == "ack";
        isPut = parts[1] == "put";
        key = parts[2];
        return true;
    }
}
