using System;
using System.Collections.Generic;
using RingKV.Core.Hashing;

namespace RingKV.Storage.Tests.Engine;

/// <summary>What the engine should hold: the last write of each key, with its expiry.</summary>
/// <remarks>A record with an expiry is live while the clock is before the expiry (expiries are kept to the millisecond, as the engine keeps them).</remarks>
internal sealed class EngineModel
{
    private readonly SortedDictionary<byte[], Entry> _entries = new(KeyOrder.Instance);

    public readonly record struct Entry(byte[] Value, DateTimeOffset? ExpiresAt);

    public int Count => _entries.Count;

    public void Put(byte[] key, byte[] value, DateTimeOffset? expiresAt = null) =>
        _entries[key] = new Entry(value, expiresAt is { } e ? DateTimeOffset.FromUnixTimeMilliseconds(e.ToUnixTimeMilliseconds()) : null);

    public void Delete(byte[] key) => _entries.Remove(key);

    /// <summary>The live value of <paramref name="key"/> at <paramref name="now"/>, or null.</summary>
    public byte[]? Get(byte[] key, DateTimeOffset now) =>
        _entries.TryGetValue(key, out var entry) && IsLive(entry, now) ? entry.Value : null;

    /// <summary>Live records in <paramref name="range"/> at <paramref name="now"/>, in engine order.</summary>
    public List<(byte[] Key, Entry Entry)> Scan(TokenRange range, DateTimeOffset now)
    {
        var result = new List<(byte[], Entry)>();
        foreach (var (key, entry) in _entries)
        {
            if (range.Contains(Token.Of(key)) && IsLive(entry, now))
            {
                result.Add((key, entry));
            }
        }

        return result;
    }

    public EngineModel Clone()
    {
        var copy = new EngineModel();
        foreach (var (key, entry) in _entries)
        {
            copy._entries[key] = entry;
        }

        return copy;
    }

    private static bool IsLive(Entry entry, DateTimeOffset now) => entry.ExpiresAt is not { } e || now < e;
}
