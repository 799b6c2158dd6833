using System;
using System.Linq;
using System.Threading.Tasks;
using RingKV.Server.Tests.Support;
using StackExchange.Redis;
using Xunit;

namespace RingKV.Server.Tests.Commands;

/// <summary>
/// APPEND, STRLEN, GETRANGE/SUBSTR, SETRANGE, GETSET, GETBIT, SETBIT, BITCOUNT, LCS, EXPIRETIME/PEXPIRETIME, TOUCH and
/// TIME with Redis's documented edge cases; every expected reply here is what redis-server 7.0 answers to the same
/// command (checked side by side while writing them). Each case runs on a single node and through a 3-node cluster,
/// where it writes through one node and reads through another.
/// </summary>
public abstract class StringEditCases : CommandCases
{
    [Fact]
    public void Append_CreatesThenExtends_AnswersTheNewLength()
    {
        Assert.Equal(5, (long)W("APPEND", "ap:s", "Hello"));
        Assert.Equal(11, (long)W("APPEND", "ap:s", " World"));
        Assert.Equal("Hello World", (string?)R("GET", "ap:s"));
        Assert.Equal(11, (long)R("STRLEN", "ap:s"));
        Assert.Equal(0, (long)R("STRLEN", "ap:absent"));
    }

    [Fact]
    public void Append_PastMaxValueBytes_IsRefusedAndChangesNothing()
    {
        var half = new string('x', 600 * 1024);
        Assert.Equal(half.Length, (long)W("APPEND", "ap:big", half));
        Assert.StartsWith("ERR string exceeds maximum allowed size", Error(Writer, "APPEND", "ap:big", half), StringComparison.Ordinal);
        Assert.Equal(half.Length, (long)R("STRLEN", "ap:big"));
    }

    [Theory]
    [InlineData(0, 3, "Hell")]
    [InlineData(-3, -1, "rld")]
    [InlineData(0, -1, "Hello World")]
    [InlineData(10, 100, "d")]
    [InlineData(-100, 2, "Hel")]
    [InlineData(5, 2, "")]
    [InlineData(-1, -5, "")]
    [InlineData(11, 20, "")]
    public void GetRange_NegativeAndOutOfRangeIndexes_AsRedis(long start, long end, string expected)
    {
        W("SET", "gr:s", "Hello World");
        Assert.Equal(expected, (string?)R("GETRANGE", "gr:s", start, end));
        Assert.Equal(expected, (string?)R("SUBSTR", "gr:s", start, end));
    }

    [Fact]
    public void GetRange_AbsentKeyIsEmpty_BadIndexIsAnError()
    {
        Assert.Equal("", (string?)R("GETRANGE", "gr:absent", 0, -1));
        Assert.Equal("ERR value is not an integer or out of range", Error(Reader, "GETRANGE", "gr:absent", "a", 1));
    }

    [Fact]
    public void SetRange_PadsWithZeroBytesAndOverwrites()
    {
        Assert.Equal(8, (long)W("SETRANGE", "sr:pad", 5, "abc"));
        Assert.Equal(new byte[] { 0, 0, 0, 0, 0, (byte)'a', (byte)'b', (byte)'c' }, (byte[]?)R("GET", "sr:pad"));

        W("SET", "sr:s", "Hello World");
        Assert.Equal(11, (long)W("SETRANGE", "sr:s", 6, "Redis"));
        Assert.Equal("Hello Redis", (string?)R("GET", "sr:s"));
    }

    [Fact]
    public void SetRange_EmptyPatch_AnswersTheLengthAndCreatesNothing()
    {
        W("SET", "sr:e", "Hello");
        Assert.Equal(5, (long)W("SETRANGE", "sr:e", 0, ""));
        Assert.Equal(0, (long)W("SETRANGE", "sr:e-absent", 3, ""));
        Assert.Equal(0, (long)R("EXISTS", "sr:e-absent"));
    }

    [Fact]
    public void SetRange_BadOffsets_AreErrorsAndChangeNothing()
    {
        W("SET", "sr:bad", "Hello");
        Assert.Equal("ERR offset is out of range", Error(Writer, "SETRANGE", "sr:bad", -1, "x"));
        Assert.StartsWith("ERR string exceeds maximum allowed size", Error(Writer, "SETRANGE", "sr:bad", 536870912, "x"), StringComparison.Ordinal);
        Assert.Equal("ERR value is not an integer or out of range", Error(Writer, "SETRANGE", "sr:bad", "x", "x"));
        Assert.Equal("Hello", (string?)R("GET", "sr:bad"));
    }

    [Fact]
    public void GetSet_AnswersTheOldValueAndClearsTheTtl()
    {
        Assert.True(((RedisValue)W("GETSET", "gs:k", "one")).IsNull);
        W("SET", "gs:k", "two", "EX", 100);
        Assert.Equal("two", (string?)W("GETSET", "gs:k", "three"));
        Assert.Equal("three", (string?)R("GET", "gs:k"));
        Assert.Equal(-1, (long)R("TTL", "gs:k"));
    }

    [Fact]
    public void SetBit_GrowsTheValue_AnswersTheOldBit_GetBitReadsIt()
    {
        Assert.Equal(0, (long)W("SETBIT", "bit:b", 7, 1));
        Assert.Equal(1, (long)W("SETBIT", "bit:b", 7, 0));
        Assert.Equal(0, (long)W("SETBIT", "bit:b", 100, 1));
        Assert.Equal(13, (long)R("STRLEN", "bit:b"));
        Assert.Equal(1, (long)R("GETBIT", "bit:b", 100));
        Assert.Equal(0, (long)R("GETBIT", "bit:b", 99));
        Assert.Equal(0, (long)R("GETBIT", "bit:b", 100000));
        Assert.Equal(0, (long)R("GETBIT", "bit:absent", 1));

        // The most significant bit first: bit 1 of "`" (0x60) is set.
        W("SET", "bit:c", "`");
        Assert.Equal(1, (long)R("GETBIT", "bit:c", 1));
        Assert.Equal(0, (long)R("GETBIT", "bit:c", 0));
    }

    [Fact]
    public void SetBit_BadArguments_AreErrorsAndChangeNothing()
    {
        W("SET", "bit:bad", "a");
        Assert.Equal("ERR bit offset is not an integer or out of range", Error(Writer, "SETBIT", "bit:bad", -1, 1));
        Assert.Equal("ERR bit offset is not an integer or out of range", Error(Writer, "SETBIT", "bit:bad", 4294967296L, 1));
        Assert.Equal("ERR bit is not an integer or out of range", Error(Writer, "SETBIT", "bit:bad", 1, 2));
        Assert.Equal("ERR bit offset is not an integer or out of range", Error(Reader, "GETBIT", "bit:bad", "x"));
        Assert.StartsWith("ERR string exceeds maximum allowed size", Error(Writer, "SETBIT", "bit:bad", 4294967295L, 1), StringComparison.Ordinal);
        Assert.Equal("a", (string?)R("GET", "bit:bad"));
    }

    [Theory]
    [InlineData(new object[] { }, 26L)]
    [InlineData(new object[] { 0, 0 }, 4L)]
    [InlineData(new object[] { 1, 1 }, 6L)]
    [InlineData(new object[] { 1, 1, "BYTE" }, 6L)]
    [InlineData(new object[] { 5, 30, "BIT" }, 17L)]
    [InlineData(new object[] { -2, -1 }, 7L)]
    [InlineData(new object[] { -1, -2 }, 0L)]
    [InlineData(new object[] { 0, -1, "BIT" }, 26L)]
    [InlineData(new object[] { -100, 100, "bit" }, 26L)]
    public void BitCount_ByteAndBitRanges_AsRedis(object[] range, long expected)
    {
        W("SET", "bc:k", "foobar");
        Assert.Equal(expected, (long)R(["BITCOUNT", "bc:k", .. range]));
    }

    [Fact]
    public void BitCount_AbsentKeyIsZero_HalfRangeAndUnknownUnitAreSyntaxErrors()
    {
        Assert.Equal(0, (long)R("BITCOUNT", "bc:absent"));
        Assert.Equal("ERR syntax error", Error(Reader, "BITCOUNT", "bc:absent", 0));
        Assert.Equal("ERR syntax error", Error(Reader, "BITCOUNT", "bc:absent", 0, 1, "XYZ"));
    }

    [Fact]
    public void Lcs_PlainLenAndIdx_AsRedisDocumentsThem()
    {
        W("SET", "{lcs}a", "ohmytext");
        W("SET", "{lcs}b", "mynewtext");
        Assert.Equal("mytext", (string?)R("LCS", "{lcs}a", "{lcs}b"));
        Assert.Equal(6, (long)R("LCS", "{lcs}a", "{lcs}b", "LEN"));

        var idx = (RedisResult[])R("LCS", "{lcs}a", "{lcs}b", "IDX")!;
        Assert.Equal("matches", (string?)idx[0]);
        Assert.Equal("[[4,7],[5,8]] [[2,3],[0,1]]", Matches(idx[1]));
        Assert.Equal("len", (string?)idx[2]);
        Assert.Equal(6, (long)idx[3]);

        var long4 = (RedisResult[])R("LCS", "{lcs}a", "{lcs}b", "IDX", "MINMATCHLEN", 4, "WITHMATCHLEN")!;
        Assert.Equal("[[4,7],[5,8],4]", Matches(long4[1]));

        Assert.Equal("", (string?)R("LCS", "{lcs}a", "{lcs}absent"));
        Assert.Equal("ERR If you want both the length and indexes, please just use IDX.", Error(Reader, "LCS", "{lcs}a", "{lcs}b", "LEN", "IDX"));
        Assert.Equal("ERR syntax error", Error(Reader, "LCS", "{lcs}a", "{lcs}b", "BAD"));
    }

    private static string Matches(RedisResult matches) =>
        string.Join(" ", ((RedisResult[])matches!).Select(Flat));

    private static string Flat(RedisResult r) => r.Resp2Type == ResultType.Array
        ? "[" + string.Join(",", ((RedisResult[])r!).Select(Flat)) + "]"
        : ((long)r).ToString(System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public void ExpireTime_AbsoluteSecondsAndMs_MinusOneWithoutMinusTwoAbsent()
    {
        W("SET", "et:k", "v", "EXAT", 4102444800);
        Assert.Equal(4102444800, (long)R("EXPIRETIME", "et:k"));
        Assert.Equal(4102444800000, (long)R("PEXPIRETIME", "et:k"));
        W("SET", "et:none", "v");
        Assert.Equal(-1, (long)R("EXPIRETIME", "et:none"));
        Assert.Equal(-2, (long)R("EXPIRETIME", "et:absent"));
        Assert.Equal(-2, (long)R("PEXPIRETIME", "et:absent"));
    }

    [Fact]
    public void AppendSetRangeSetBit_KeepTheKeysExpiry()
    {
        W("SET", "et:keep", "v", "PXAT", 4102444800123);
        W("APPEND", "et:keep", "x");
        W("SETRANGE", "et:keep", 0, "Z");
        W("SETBIT", "et:keep", 0, 1);
        Assert.Equal(4102444800123, (long)R("PEXPIRETIME", "et:keep"));
        Assert.Equal(new byte[] { (byte)'Z' | 0x80, (byte)'x' }, (byte[]?)R("GET", "et:keep"));
    }

    [Fact]
    public void Touch_CountsLiveKeysNamed_DuplicatesTwice()
    {
        W("SET", "t:a", "1");
        W("SET", "t:b", "2");
        Assert.Equal(3, (long)R("TOUCH", "t:a", "t:b", "t:absent", "t:a"));
        Assert.Equal(0, (long)R("TOUCH", "t:absent"));
    }

    [Fact]
    public void Time_SecondsAndMicroseconds_NearThisClock()
    {
        var reply = (RedisResult[])R("TIME")!;
        Assert.Equal(2, reply.Length);
        var seconds = long.Parse((string)reply[0]!, System.Globalization.CultureInfo.InvariantCulture);
        var micros = long.Parse((string)reply[1]!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(micros, 0, 999_999);
        Assert.InRange(seconds, DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 60, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 60);
    }
}

/// <summary>The cases on one node; there APPEND, SETRANGE and SETBIT are atomic.</summary>
public sealed class StringEditSingleNodeTests(ServerFixture fixture) : StringEditCases, IClassFixture<ServerFixture>
{
    protected override IDatabase Writer => fixture.Db;

    protected override IDatabase Reader => fixture.Db;

    [Fact]
    public async Task Append_ConcurrentFromManyConnections_KeepsEveryByte()
    {
        // 8 connections each append 200 distinct 4-byte pieces at once: a read-modify-write that is not atomic loses some.
        var connections = Enumerable.Range(0, 8).Select(_ => fixture.Server.Connect()).ToArray();
        try
        {
            await Task.WhenAll(connections.Select((c, n) => Task.Run(async () =>
            {
                var db = c.GetDatabase();
                for (var i = 0; i < 200; i++)
                {
                    await db.StringAppendAsync("ap:race", $"{n}{i:000}");
                }
            })));

            var value = (string?)fixture.Db.StringGet("ap:race");
            Assert.Equal(8 * 200 * 4, value!.Length);
            var pieces = Enumerable.Range(0, value.Length / 4).Select(i => value.Substring(i * 4, 4)).ToHashSet();
            Assert.Equal(8 * 200, pieces.Count);
        }
        finally
        {
            foreach (var c in connections)
            {
                c.Dispose();
            }
        }
    }

    [Fact]
    public async Task SetBit_ConcurrentOnOneKey_KeepsEveryBit()
    {
        var connections = Enumerable.Range(0, 4).Select(_ => fixture.Server.Connect()).ToArray();
        try
        {
            await Task.WhenAll(connections.Select((c, n) => Task.Run(async () =>
            {
                var db = c.GetDatabase();
                for (var i = n; i < 512; i += 4)
                {
                    await db.StringSetBitAsync("bit:race", i, true);
                }
            })));

            Assert.Equal(512, (long)fixture.Db.Execute("BITCOUNT", "bit:race"));
        }
        finally
        {
            foreach (var c in connections)
            {
                c.Dispose();
            }
        }
    }
}

/// <summary>The cases through a 3-node cluster: written through node 0, read through node 2.</summary>
[Collection(ThreeNodeCluster.Collection)]
public sealed class StringEditClusterTests(ThreeNodeCluster fixture) : StringEditCases
{
    protected override IDatabase Writer => fixture.Writer;

    protected override IDatabase Reader => fixture.Reader;
}
