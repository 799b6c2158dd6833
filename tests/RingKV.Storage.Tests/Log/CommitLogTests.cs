using System;
using System.IO;
using RingKV.Storage.Log;
using RingKV.Testing.Support;
using Xunit;

namespace RingKV.Storage.Tests.Log;

public sealed class CommitLogTests
{
    private static void Write(string path, params byte[][] payloads)
    {
        using var writer = new CommitLogWriter(PosixFileSystem.Instance.Create(path), 1);
        foreach (var payload in payloads)
        {
            var record = new byte[LogFormat.HeaderSize + payload.Length];
            payload.CopyTo(record, LogFormat.HeaderSize);
            writer.Append(record);
        }
    }

    private static int CountRecords(string path, out CommitLogReader reader)
    {
        reader = new CommitLogReader(PosixFileSystem.Instance.OpenRead(path));
        var count = 0;
        while (reader.TryReadNext(out var payload))
        {
            Assert.Equal((byte)count, payload[0]);
            count++;
        }

        return count;
    }

    [Fact]
    public void Reader_CleanLog_ReturnsEveryRecord()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "000001.log");
        Write(path, [0, 1, 2], [1], [2, 2, 2, 2]);
        Assert.Equal(3, CountRecords(path, out var reader));
        Assert.Null(reader.StopReason);
        Assert.Equal(0, reader.DroppedBytes);
        reader.Dispose();
    }

    [Fact]
    public void Reader_TornTailAtEveryOffset_ReturnsOnlyWholeRecords()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "000001.log");
        Write(path, [0, 9, 9, 9], [1, 8, 8], [2, 7]);
        var whole = File.ReadAllBytes(path);
        int[] boundaries = [0, 12, 23, 33];
        for (var cut = 0; cut <= whole.Length; cut++)
        {
            File.WriteAllBytes(path, whole.AsSpan(0, cut).ToArray());
            var expected = Array.FindLastIndex(boundaries, b => b <= cut);
            Assert.Equal(expected, CountRecords(path, out var reader));
            Assert.Equal(boundaries[expected], reader.GoodOffset);
            reader.Dispose();
        }
    }

    [Fact]
    public void Reader_FlippedByte_StopsBeforeDamagedRecord()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "000001.log");
        Write(path, [0, 9, 9, 9], [1, 8, 8], [2, 7]);
        var bytes = File.ReadAllBytes(path);
        for (var i = 12; i < 23; i++)
        {
            var damaged = (byte[])bytes.Clone();
            damaged[i] ^= 0x40;
            File.WriteAllBytes(path, damaged);
            Assert.Equal(1, CountRecords(path, out var reader));
            Assert.NotNull(reader.StopReason);
            Assert.Equal(damaged.Length - 12, reader.DroppedBytes);
            reader.Dispose();
        }
    }
}
