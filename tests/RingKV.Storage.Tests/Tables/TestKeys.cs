using System;
using System.Collections.Generic;
using System.Text;
using RingKV.Storage.Keys;

namespace RingKV.Storage.Tests.Tables;

/// <summary>Builds internal keys for tests.</summary>
internal static class TestKeys
{
    public static byte[] Ordered(string userKey)
    {
        var user = Encoding.UTF8.GetBytes(userKey);
        var ordered = new byte[user.Length + InternalKey.OrderedOverhead];
        InternalKey.WriteOrdered(ordered, user);
        return ordered;
    }

    public static byte[] Internal(byte[] orderedKey, ulong sequence, ValueKind kind)
    {
        var key = new byte[orderedKey.Length + InternalKey.TrailerSize];
        InternalKey.Write(key, orderedKey, sequence, kind);
        return key;
    }

    public static byte[] Internal(string userKey, ulong sequence, ValueKind kind = ValueKind.Put) => Internal(Ordered(userKey), sequence, kind);

    public static byte[] Seek(byte[] orderedKey, ulong snapshot) => Internal(orderedKey, snapshot, ValueKind.Seek);

    /// <summary>Distinct random internal keys, sorted by <see cref="InternalKey.Compare"/>.</summary>
    public static List<byte[]> RandomSorted(Random random, int count)
    {
        var set = new HashSet<string>();
        var keys = new List<byte[]>(count);
        while (keys.Count < count)
        {
            var user = $"k{random.Next(0, count * 4)}-{new string('x', random.Next(0, 20))}";
            var sequence = (ulong)random.Next(1, 1000);
            if (set.Add($"{user}/{sequence}"))
            {
                keys.Add(Internal(user, sequence, (ValueKind)random.Next(0, 3)));
            }
        }

        keys.Sort((a, b) => InternalKey.Compare(a, b));
        return keys;
    }

    public static byte[] ValueFor(ReadOnlySpan<byte> key)
    {
        var value = new byte[(key.Length * 3) % 37];
        for (var i = 0; i < value.Length; i++)
        {
            value[i] = (byte)(key[i % key.Length] + i);
        }

        return value;
    }
}
