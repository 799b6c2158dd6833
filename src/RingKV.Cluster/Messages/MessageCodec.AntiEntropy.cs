using System;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using RingKV.Cluster.AntiEntropy;

namespace RingKV.Cluster.Messages;

/// <summary>The anti-entropy bodies (kinds 40-45); layouts in docs/formats/cluster-messages.md.</summary>
internal static partial class MessageCodec
{
    private static void EncodeAntiEntropy(ClusterMessage message, Writer w)
    {
        switch (message)
        {
            case AntiEntropyRootsRequest m:
                w.Varint((ulong)m.Ranges.Count);
                foreach (var range in m.Ranges)
                {
                    w.Fixed64(range.First);
                    w.Fixed64(range.Last);
                    w.Varint((ulong)range.Keys);
                }

                break;
            case AntiEntropyRootsReply m:
                w.Byte((byte)m.Status);
                w.Varint((ulong)m.Roots.Count);
                foreach (var root in m.Roots)
                {
                    w.Byte((byte)root.Depth);
                    w.Fixed64(root.Hash);
                    w.Varint((ulong)root.Keys);
                }

                w.Text(m.Error);
                break;
            case AntiEntropyDescendRequest m:
                w.Varint(m.Session);
                w.Varint((ulong)m.Steps.Count);
                foreach (var step in m.Steps)
                {
                    w.Varint((ulong)step.Range);
                    w.Byte((byte)step.Level);
                    w.Byte((byte)step.LevelsDown);
                    Ints(w, step.Nodes);
                }

                break;
            case AntiEntropyDescendReply m:
                w.Byte((byte)m.Status);
                w.Varint((ulong)m.Hashes.Count);
                foreach (var hash in m.Hashes)
                {
                    w.Fixed64(hash);
                }

                w.Text(m.Error);
                break;
            case AntiEntropyPushRequest m:
                w.Varint(m.Session);
                w.Varint((ulong)m.Leaves.Count);
                foreach (var leaves in m.Leaves)
                {
                    w.Varint((ulong)leaves.Range);
                    Ints(w, leaves.Leaves);
                }

                Entries(w, m.Entries);
                break;
            case AntiEntropyPushReply m:
                w.Byte((byte)m.Status);
                w.Varint((ulong)m.Differing);
                Entries(w, m.Entries);
                w.Text(m.Error);
                break;
            default:
                throw new ArgumentException($"no anti-entropy encoding for {message.GetType().Name}", nameof(message));
        }
    }

    private static void Ints(Writer w, IReadOnlyList<int> values)
    {
        w.Varint((ulong)values.Count);
        foreach (var value in values)
        {
            w.Varint((ulong)value);
        }
    }

    private static void Entries(Writer w, IReadOnlyList<ScanEntry> entries)
    {
        w.Varint((ulong)entries.Count);
        foreach (var entry in entries)
        {
            w.Bytes(entry.Key);
            w.Record(entry.Record);
        }
    }

    private static bool TryDecodeAntiEntropy(MessageKind kind, ref Reader r, ulong id, [NotNullWhen(true)] out ClusterMessage? message, [NotNullWhen(false)] out string? error)
    {
        message = null;
        error = null;
        switch (kind)
        {
            case MessageKind.AntiEntropyRoots:
                {
                    // A range takes at least 17 bytes (two tokens and a one-byte count).
                    if (!r.Varint(out var count) || count > (ulong)r.Remaining / 17)
                    {
                        break;
                    }

                    var ranges = new List<AntiEntropyRange>((int)count);
                    for (var i = 0UL; i < count; i++)
                    {
                        if (!r.Fixed64(out var first) || !r.Fixed64(out var last) || !r.Varint(out var keys) || first > last || keys > long.MaxValue)
                        {
                            error = "AntiEntropyRoots range cut short, wrapping or with a negative count";
                            return false;
                        }

                        ranges.Add(new AntiEntropyRange(first, last, (long)keys));
                    }

                    message = new AntiEntropyRootsRequest(id, ranges);
                    return true;
                }

            case MessageKind.AntiEntropyRootsReply:
                {
                    if (!r.Status(out var status) || !r.Varint(out var count) || count > (ulong)r.Remaining / 10)
                    {
                        break;
                    }

                    var roots = new List<AntiEntropyRoot>((int)count);
                    for (var i = 0UL; i < count; i++)
                    {
                        if (!r.Byte(out var depth) || depth > MerkleTree.MaxDepth || !r.Fixed64(out var hash) || !r.Varint(out var keys) || keys > long.MaxValue)
                        {
                            error = $"AntiEntropyRootsReply root cut short or deeper than {MerkleTree.MaxDepth}";
                            return false;
                        }

                        roots.Add(new AntiEntropyRoot(depth, hash, (long)keys));
                    }

                    if (!r.Text(out var text))
                    {
                        break;
                    }

                    message = new AntiEntropyRootsReply(id, status, roots, text);
                    return true;
                }

            case MessageKind.AntiEntropyDescend:
                {
                    // A step takes at least 4 bytes (range, level, levels down, node count).
                    if (!r.Varint(out var session) || !r.Varint(out var count) || count > (ulong)r.Remaining / 4)
                    {
                        break;
                    }

                    var steps = new List<AntiEntropyDescent>((int)count);
                    for (var i = 0UL; i < count; i++)
                    {
                        if (!r.Varint(out var range) || range > int.MaxValue || !r.Byte(out var level) || !r.Byte(out var down)
                            || level > MerkleTree.MaxDepth || down < 1 || level + down > MerkleTree.MaxDepth || !TryInts(ref r, 1 << level, out var nodes))
                        {
                            error = "AntiEntropyDescend step cut short, or its levels or nodes are outside a tree";
                            return false;
                        }

                        steps.Add(new AntiEntropyDescent((int)range, level, down, nodes));
                    }

                    message = new AntiEntropyDescendRequest(id, session, steps);
                    return true;
                }

            case MessageKind.AntiEntropyDescendReply:
                {
                    if (!r.Status(out var status) || !r.Varint(out var count) || count > (ulong)r.Remaining / 8)
                    {
                        break;
                    }

                    var hashes = new ulong[count];
                    for (var i = 0; i < hashes.Length; i++)
                    {
                        r.Fixed64(out hashes[i]);
                    }

                    if (!r.Text(out var text))
                    {
                        break;
                    }

                    message = new AntiEntropyDescendReply(id, status, hashes, text);
                    return true;
                }

            case MessageKind.AntiEntropyPush:
                {
                    if (!r.Varint(out var session) || !r.Varint(out var count) || count > (ulong)r.Remaining / 2)
                    {
                        break;
                    }

                    var leaves = new List<AntiEntropyLeaves>((int)count);
                    for (var i = 0UL; i < count; i++)
                    {
                        if (!r.Varint(out var range) || range > int.MaxValue || !TryInts(ref r, 1 << MerkleTree.MaxDepth, out var indexes))
                        {
                            error = "AntiEntropyPush leaves cut short or outside a tree";
                            return false;
                        }

                        leaves.Add(new AntiEntropyLeaves((int)range, indexes));
                    }

                    if (!TryEntries(ref r, out var entries))
                    {
                        break;
                    }

                    message = new AntiEntropyPushRequest(id, session, leaves, entries);
                    return true;
                }

            default: // AntiEntropyPushReply
                {
                    if (!r.Status(out var status) || !r.Varint(out var differing) || differing > long.MaxValue || !TryEntries(ref r, out var entries) || !r.Text(out var text))
                    {
                        break;
                    }

                    message = new AntiEntropyPushReply(id, status, (long)differing, entries, text);
                    return true;
                }
        }

        error = $"{kind} body cut short or malformed";
        return false;
    }

    /// <summary>A varint count then that many varints, each below <paramref name="bound"/>.</summary>
    private static bool TryInts(ref Reader r, int bound, out List<int> values)
    {
        values = [];
        if (!r.Varint(out var count) || count > (ulong)r.Remaining)
        {
            return false;
        }

        values = new List<int>((int)count);
        for (var i = 0UL; i < count; i++)
        {
            if (!r.Varint(out var value) || value >= (ulong)bound)
            {
                return false;
            }

            values.Add((int)value);
        }

        return true;
    }

    private static bool TryEntries(ref Reader r, out List<ScanEntry> entries)
    {
        entries = [];
        if (!r.Varint(out var count) || count > (ulong)r.Remaining / 10)
        {
            return false;
        }

        entries = new List<ScanEntry>((int)count);
        for (var i = 0UL; i < count; i++)
        {
            if (!r.Bytes(out var key) || !r.Record(out var record))
            {
                return false;
            }

            entries.Add(new ScanEntry(key, record));
        }

        return true;
    }
}
