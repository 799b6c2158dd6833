using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Linq;
using System.Threading.Tasks;
using RingKV.Core.Encoding;
using RingKV.Storage;
using RingKV.Testing.Processes;
using StackExchange.Redis;
using Xunit;

namespace RingKV.Server.Tests.EndToEnd;

/// <summary>A data directory whose sibling sets a release-1 server wrote (format version 1) is served and rewritten.</summary>
[Trait("Category", "System")]
public sealed class UpgradeTests
{
    private const ulong ActorA = 0x1111_2222_3333_4444;
    private const ulong ActorB = 0x5555_6666_7777_8888;
    private const long Then = 1_700_000_000_000;

    /// <summary>Version-1 bytes: entries (actor, counter, Unix ms), siblings (entry index, counter, Unix ms, value or null for a tombstone).</summary>
    private static byte[] Version1((ulong Actor, ulong Counter, long Ms)[] entries, (int Index, ulong Counter, long Ms, string? Value)[] siblings)
    {
        var writer = new ArrayBufferWriter<byte>();
        void Varint64(ulong value) => writer.Advance(Varint.Write(writer.GetSpan(Varint.MaxLength64), value));
        static ulong ZigZag(long value) => (ulong)((value << 1) ^ (value >> 63));
        writer.Write<byte>([1]);
        Varint64((ulong)entries.Length);
        Varint64(0);
        foreach (var (actor, counter, ms) in entries)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(writer.GetSpan(8), actor);
            writer.Advance(8);
            Varint64(counter);
            Varint64(ZigZag(ms));
        }

        Varint64((ulong)siblings.Length);
        foreach (var (index, counter, ms, value) in siblings)
        {
            Varint64((ulong)index);
            Varint64(counter);
            writer.Write<byte>([value is null ? (byte)1 : (byte)0]);
            Varint64(ZigZag(ms));
            if (value is not null)
            {
                Varint64((ulong)value.Length);
                writer.Write(System.Text.Encoding.UTF8.GetBytes(value));
            }
        }

        return writer.WrittenSpan.ToArray();
    }

    [Fact]
    public async Task Server_DataWrittenInFormatVersion1_ServesAndRewritesIt()
    {
        using var server = new ServerProcess();
        Assert.True(await server.Connect().GetDatabase().StringSetAsync("up:other", "kept"));
        Assert.Equal(0, server.StopGracefully());

        // What release 1 left on disk: one plain value, two concurrent KV.PUTs, a KV.DEL later than a concurrent KV.PUT.
        using (var engine = StorageEngine.Open(new StorageOptions { Directory = server.DataDirectory }))
        {
            engine.Put("up:plain"u8, Version1([(ActorA, 3, Then)], [(0, 3, Then, "old")]));
            engine.Put("up:siblings"u8, Version1([(ActorA, 2, Then), (ActorB, 1, Then + 5)], [(0, 2, Then, "a"), (1, 1, Then + 5, "b")]));
            engine.Put("up:deleted"u8, Version1([(ActorA, 1, Then), (ActorB, 1, Then + 10)], [(0, 1, Then, "x"), (1, 1, Then + 10, null)]));
        }

        server.Restart();
        var db = server.Connect().GetDatabase();
        Assert.Equal("old", (string?)await db.StringGetAsync("up:plain"));
        Assert.Equal("b", (string?)await db.StringGetAsync("up:siblings"));
        Assert.Null((string?)await db.StringGetAsync("up:deleted"));
        Assert.Equal("kept", (string?)await db.StringGetAsync("up:other"));
        Assert.Equal(3L, (long)await db.ExecuteAsync("DBSIZE"));

        var read = (RedisResult[])(await db.ExecuteAsync("KV.GET", "up:siblings"))!;
        var values = ((RedisResult[])read[1]!).Select(v => (string?)v).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(["a", "b"], values);

        // Writes over version-1 sets: a plain SET, and a KV.PUT resolving the siblings with the context it read.
        Assert.True(await db.StringSetAsync("up:plain", "new"));
        Assert.Equal("OK", (string?)await db.ExecuteAsync("KV.PUT", "up:siblings", "resolved", "CONTEXT", (string)read[0]!));
        Assert.Equal("new", (string?)await db.StringGetAsync("up:plain"));
        var resolved = (RedisResult[])((RedisResult[])(await db.ExecuteAsync("KV.GET", "up:siblings"))!)[1]!;
        Assert.Equal(["resolved"], resolved.Select(v => (string?)v));

        // Rewritten in version 2, they survive another restart.
        Assert.Equal(0, server.StopGracefully());
        server.Restart();
        var after = server.Connect().GetDatabase();
        Assert.Equal("new", (string?)await after.StringGetAsync("up:plain"));
        Assert.Equal("resolved", (string?)await after.StringGetAsync("up:siblings"));
        Assert.Null((string?)await after.StringGetAsync("up:deleted"));
    }
}
