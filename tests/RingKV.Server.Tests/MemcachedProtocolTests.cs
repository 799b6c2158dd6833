using System;
using System.Diagnostics;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using RingKV.Testing.Processes;
using Xunit;

namespace RingKV.Server.Tests;

/// <summary>The memcached text protocol (serve --memcached-listen) over real TCP, beside the RESP port on one keyspace.</summary>
public sealed partial class MemcachedProtocolTests : IDisposable
{
    private readonly ServerProcess _server = new("--memcached-listen", "127.0.0.1:0");

    public void Dispose() => _server.Dispose();

    [GeneratedRegex(@"serving memcached on 127\.0\.0\.1:(\d+)")]
    private static partial Regex ServingLine();

    private static int MemcachedPort(ServerProcess server) => int.Parse(ServingLine().Match(server.Log).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Sends <paramref name="script"/> and reads until the replies end with <paramref name="until"/> (null: until 1 s passes with nothing more, or the server closes).</summary>
    private static string Exchange(int port, string script, string? until)
    {
        using var client = new TcpClient();
        client.Connect(IPAddress.Loopback, port);
        var stream = client.GetStream();
        stream.ReadTimeout = until is null ? 1_000 : 10_000;
        var bytes = Encoding.Latin1.GetBytes(script);
        stream.Write(bytes);
        var reply = new StringBuilder();
        var buffer = new byte[64 * 1024];
        while (until is null || !reply.ToString().EndsWith(until, StringComparison.Ordinal))
        {
            int n;
            try
            {
                n = stream.Read(buffer);
            }
            catch (IOException) when (until is null)
            {
                break;
            }

            if (n == 0)
            {
                break;
            }

            reply.Append(Encoding.Latin1.GetString(buffer, 0, n));
        }

        return reply.ToString();
    }

    private string Run(string script, string? until) => Exchange(MemcachedPort(_server), script, until);

    [Fact]
    public void Storage_EachCommand_RepliesAsMemcached()
    {
        var reply = Run(
            "set s1 0 0 1\r\na\r\nadd s1 0 0 1\r\nb\r\nadd s2 0 0 1\r\nb\r\nreplace s3 0 0 1\r\nc\r\nreplace s2 0 0 1\r\nc\r\n"
            + "append s1 0 0 2\r\nxy\r\nprepend s1 0 0 1\r\n_\r\nappend s9 0 0 1\r\nz\r\nget s1 s2 s9\r\n"
            + "delete s2\r\ndelete s2\r\ntouch s1 100\r\ntouch s9 100\r\nverbosity 1\r\nbogus\r\nSET s1 0 0 1\r\n",
            "OK\r\nERROR\r\nERROR\r\n");
        Assert.Equal(
            "STORED\r\nNOT_STORED\r\nSTORED\r\nNOT_STORED\r\nSTORED\r\nSTORED\r\nSTORED\r\nNOT_STORED\r\n"
            + "VALUE s1 0 4\r\n_axy\r\nVALUE s2 0 1\r\nc\r\nEND\r\nDELETED\r\nNOT_FOUND\r\nTOUCHED\r\nNOT_FOUND\r\nOK\r\nERROR\r\nERROR\r\n",
            reply);
    }

    [Fact]
    public void NoReply_Storage_Delete_Incr_AnswerNothing()
    {
        var reply = Run("set n1 0 0 1 noreply\r\n5\r\nincr n1 2 noreply\r\nadd n1 0 0 1 noreply\r\nx\r\ndelete n9 noreply\r\nget n1\r\n", "END\r\n");
        Assert.Equal("VALUE n1 0 1\r\n7\r\nEND\r\n", reply);
    }

    [Fact]
    public void Counters_IncrDecr_WrapFloorAndRefuseNonNumeric()
    {
        var reply = Run(
            "set c1 0 0 2\r\n10\r\nincr c1 5\r\ndecr c1 100\r\nincr c1 18446744073709551615\r\nincr c1 1\r\nincr c9 1\r\n"
            + "set c2 0 0 3\r\nabc\r\nincr c2 1\r\ndecr c2 1\r\nincr c1 -1\r\nget c1\r\n",
            "END\r\n");
        Assert.Equal(
            "STORED\r\n15\r\n0\r\n18446744073709551615\r\n0\r\nNOT_FOUND\r\nSTORED\r\n"
            + "CLIENT_ERROR cannot increment or decrement non-numeric value\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n"
            + "CLIENT_ERROR invalid numeric delta argument\r\nVALUE c1 0 1\r\n0\r\nEND\r\n",
            reply);
    }

    [Fact]
    public void Flags_RoundTrip_AndRedisGetSeesTheExactValue()
    {
        var reply = Run("set f1 4294967295 0 5\r\nhello\r\nappend f1 0 0 1\r\n!\r\nget f1\r\n", "END\r\n");
        Assert.Equal("STORED\r\nSTORED\r\nVALUE f1 4294967295 6\r\nhello!\r\nEND\r\n", reply);
        var db = _server.Connect().GetDatabase();
        Assert.Equal("hello!", (string?)db.StringGet("f1"));

        // A Redis write since drops the flags (they belong to a value that is gone); a memcached get sees Redis's value.
        db.StringSet("f1", "other");
        db.StringSet("f2", "from redis");
        Assert.Equal("VALUE f1 0 5\r\nother\r\nVALUE f2 0 10\r\nfrom redis\r\nEND\r\n", Run("get f1 f2\r\n", "END\r\n"));

        // A set with flags 0 of the same value removes the old flags.
        Assert.Equal("STORED\r\nSTORED\r\nVALUE f3 0 1\r\nv\r\nEND\r\n", Run("set f3 9 0 1\r\nv\r\nset f3 0 0 1\r\nv\r\nget f3\r\n", "END\r\n"));
    }

    [Fact]
    public void Cas_WriteInBetween_ExistsAndMissingKey_NotFound()
    {
        var gets = Run("set k1 3 0 1\r\na\r\ngets k1\r\n", "END\r\n");
        var unique = Regex.Match(gets, @"VALUE k1 3 1 (\d+)\r\n").Groups[1].Value;
        Assert.NotEmpty(unique);
        Assert.Equal("NOT_FOUND\r\n", Run($"cas k9 0 0 1 {unique}\r\nb\r\n", "\r\n"));
        Assert.Equal("STORED\r\n", Run($"cas k1 0 0 1 {unique}\r\nb\r\n", "\r\n"));
        Assert.Equal("EXISTS\r\n", Run($"cas k1 0 0 1 {unique}\r\nc\r\n", "\r\n")); // the cas itself was a write

        var next = Regex.Match(Run("gets k1\r\n", "END\r\n"), @"VALUE k1 0 1 (\d+)\r\n").Groups[1].Value;
        _server.Connect().GetDatabase().StringSet("k1", "b"); // the same value, through Redis
        Assert.Equal("EXISTS\r\n", Run($"cas k1 0 0 1 {next}\r\nd\r\n", "\r\n"));
        Assert.Equal("VALUE k1 0 1\r\nb\r\nEND\r\n", Run("get k1\r\n", "END\r\n"));
    }

    [Fact]
    public void Expiry_NegativeRelativeAbsoluteAndTouch()
    {
        var future = DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 3600;
        var reply = Run(
            $"set e1 0 -1 1\r\na\r\nset e2 0 1000000000\r\nset e2 0 1000000000 1\r\nb\r\nset e3 0 {future} 1\r\nc\r\nset e4 0 1 1\r\nd\r\nget e1 e2 e3\r\n",
            "END\r\n");
        Assert.Equal("STORED\r\nERROR\r\nSTORED\r\nSTORED\r\nSTORED\r\nVALUE e3 0 1\r\nc\r\nEND\r\n", reply);
        var ttl = (long)_server.Connect().GetDatabase().Execute("TTL", "e3");
        Assert.InRange(ttl, 3500, 3600);
        Assert.Equal("TOUCHED\r\nVALUE e4 0 1\r\nd\r\nEND\r\n", Run("touch e4 0\r\ngat 0 e4\r\n", "END\r\n"));
        Assert.Equal(-1L, (long)_server.Connect().GetDatabase().Execute("TTL", "e4"));
        Assert.Equal("END\r\nEND\r\n", Run("gat -1 e4\r\nget e4\r\n", "END\r\nEND\r\n")); // expired by the touch
    }

    [Fact]
    public void BadInput_IsRefused_AndTheConnectionKeepsWorking()
    {
        var longKey = new string('k', 251);
        var tooLarge = new string('v', (1024 * 1024) + 1);
        var reply = Run(
            $"set {longKey} 0 0 1\r\na\r\nget {longKey}\r\nget a\u0001b\r\nset b1 0 0 3\r\nabcde\r\n"
            + $"set b2 0 0 {tooLarge.Length}\r\n{tooLarge}\r\nset b3 x 0 1\r\na\r\nset b4 0 0 -1\r\nflush_all\r\nset ok 0 0 2\r\nok\r\nget ok b1 b2\r\n",
            "END\r\n");
        Assert.Equal(
            "CLIENT_ERROR bad command line format\r\nERROR\r\nCLIENT_ERROR bad command line format\r\nCLIENT_ERROR bad command line format\r\n"
            + "CLIENT_ERROR bad data chunk\r\nERROR\r\nSERVER_ERROR object too large for cache\r\nCLIENT_ERROR bad command line format\r\nERROR\r\n"
            + "CLIENT_ERROR bad command line format\r\nCLIENT_ERROR flush_all is disabled\r\nSTORED\r\nVALUE ok 0 2\r\nok\r\nEND\r\n",
            reply);
    }

    [Fact]
    public void Stats_ListsTheBasicCounters()
    {
        var reply = Run("get nothing\r\nstats\r\n", null);
        foreach (var name in new[] { "pid", "uptime", "curr_connections", "version", "cmd_get", "cmd_set", "get_hits", "get_misses" })
        {
            Assert.Matches($"\r\nSTAT {name} [^\r\n]+\r\n", reply);
        }
    }

    [Fact]
    public void FlushAll_Enabled_EmptiesTheStore()
    {
        using var server = new ServerProcess("--memcached-listen", "127.0.0.1:0", "--memcached-flush-all");
        var port = MemcachedPort(server);
        Assert.Equal("STORED\r\nOK\r\nEND\r\n", Exchange(port, "set x 0 0 1\r\na\r\nflush_all\r\nget x\r\n", "END\r\n"));
    }

    [Fact]
    public void FlushAll_WithADelay_FlushesThen_AndALaterFlushAllReplacesIt()
    {
        using var server = new ServerProcess("--memcached-listen", "127.0.0.1:0", "--memcached-flush-all");
        var port = MemcachedPort(server);
        Assert.Equal("STORED\r\nOK\r\nVALUE x 0 1\r\na\r\nEND\r\n", Exchange(port, "set x 0 0 1\r\na\r\nflush_all 1\r\nget x\r\n", "END\r\n"));
        Thread.Sleep(TimeSpan.FromSeconds(2));
        Assert.Equal("END\r\n", Exchange(port, "get x\r\n", "END\r\n"));

        // A second flush_all with a longer delay replaces the first: nothing is flushed at the first one's time.
        Assert.Equal("STORED\r\nOK\r\nOK\r\n", Exchange(port, "set y 0 0 1\r\nb\r\nflush_all 1\r\nflush_all 600\r\n", "OK\r\nOK\r\n"));
        Thread.Sleep(TimeSpan.FromSeconds(2));
        Assert.Equal("VALUE y 0 1\r\nb\r\nEND\r\n", Exchange(port, "get y\r\n", "END\r\n"));
        Assert.Equal("ERROR\r\n", Exchange(port, "flush_all soon\r\n", "\r\n"));
    }

    [Fact]
    public void SideKeys_OfFlags_AreLeftOutOfScanKeysAndRandomKey()
    {
        using var server = new ServerProcess("--memcached-listen", "127.0.0.1:0");
        var port = MemcachedPort(server);
        Assert.Equal("STORED\r\n", Exchange(port, "set flagged 42 0 1\r\na\r\n", "\r\n"));
        Assert.Equal("VALUE flagged 42 1\r\na\r\nEND\r\n", Exchange(port, "get flagged\r\n", "END\r\n"));
        using var redis = server.ConnectRaw();
        Assert.Equal("[flagged]", redis.CallText("KEYS", "*"));
        Assert.Equal("[0, [flagged]]", redis.CallText("SCAN", "0", "COUNT", "100"));
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal("flagged", redis.CallText("RANDOMKEY"));
        }
    }

    /// <summary>A command script whose replies memcached defines exactly (no CAS uniques, version or server limits).</summary>
    private const string ComparedScript =
        "set a 0 0 1\r\na\r\nget a\r\nadd a 0 0 1\r\nb\r\nadd b 7 0 2\r\nbb\r\nreplace c 0 0 1\r\nc\r\nreplace b 8 0 1\r\nB\r\n"
        + "append a 0 0 2\r\nAA\r\nprepend a 0 0 1\r\n_\r\nappend zz 0 0 1\r\nz\r\nget a b zz\r\ndelete b\r\ndelete b\r\ndelete b 0\r\n"
        + "set n 0 0 2\r\n41\r\nincr n 1\r\nincr n 18446744073709551615\r\ndecr n 1\r\nincr a 1\r\nincr zz 1\r\nincr n -1\r\n"
        + "touch a 100\r\ntouch zz 100\r\ngat 0 a n zz\r\nset e 0 -1 1\r\ne\r\nget e\r\nverbosity 1\r\nbogus\r\nSET a 0 0 1\r\n"
        + "set f 4294967295 0 1\r\nf\r\nget f\r\nset x 0 0 3\r\nabcde\r\nget x\r\nset y 0 0\r\nset y 0 0 -1\r\nget\r\n"
        + "set q 1 0 1 noreply\r\nq\r\nincr q 1 noreply\r\ndelete q noreply\r\nget q\r\n"
        + "set kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk 0 0 1\r\na\r\n"
        + "get last\r\n";

    [Fact]
    public void Script_AgainstRealMemcached_SameReplies() => AssertSameAsMemcached(ComparedScript);

    /// <summary>
    /// Runs <paramref name="script"/> against a fresh real memcached (Debian's /usr/bin/memcached) and against this
    /// server, and asserts the same replies, line by line, after <paramref name="normalize"/> (for CAS uniques and sizes,
    /// which are each server's own).
    /// </summary>
    private void AssertSameAsMemcached(string script, Func<string, string>? normalize = null)
    {
        const string Binary = "/usr/bin/memcached";
        Assert.True(File.Exists(Binary), "memcached is not installed (apt-get install memcached); .ci/run installs it");
        var port = FreePorts.BasePort(1);
        var start = new ProcessStartInfo(Binary) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in new[] { "-l", "127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-U", "0", "-m", "64" })
        {
            start.ArgumentList.Add(argument);
        }

        if (Environment.UserName == "root")
        {
            start.ArgumentList.Add("-u");
            start.ArgumentList.Add("nobody");
        }

        using var memcached = Process.Start(start)!;
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(10);
            string? expected = null;
            while (expected is null)
            {
                try
                {
                    expected = Exchange(port, script, null);
                }
                catch (SocketException) when (DateTime.UtcNow < deadline)
                {
                    Thread.Sleep(100);
                }
            }

            var actual = Run(script, null);
            normalize ??= static text => text;
            Assert.Equal(normalize(expected).Split("\r\n"), normalize(actual).Split("\r\n"));
        }
        finally
        {
            memcached.Kill();
            memcached.WaitForExit();
        }
    }

    /// <summary>CAS uniques (the c flag, me's cas=) and me's size= replaced by '#': each server has its own.</summary>
    private static string NormalizeCas(string replies) => MetaCas().Replace(replies, "${name}#");

    [GeneratedRegex(@"(?<name>(?<=^|\r\n|[ ])c|cas=|size=)[0-9]+(?=[ \r])")]
    private static partial Regex MetaCas();

    [Fact]
    public void MetaGet_AgainstRealMemcached_SameReplies() => AssertSameAsMemcached(
        "mg g1 v\r\nmg g1\r\nmg g1 q v\r\nmn\r\nmg g1 O7 k\r\nmg g1 k b\r\nmg ZzE= k b O8\r\n"
        + "ms g1 5 F42 T100\r\nhello\r\nmg g1 h l\r\nmg g1 s v f t k O9\r\nmg g1 q\r\nmg g1 c\r\nmg g1 T0 t v\r\n"
        + "mg ZzE= b v s\r\nms ZzI= 2 b\r\nhi\r\nmg ZzI= b k v\r\nmg ZzI= b k q O1\r\nmg g3 N30 v t s\r\n"
        + "mg g1 u v\r\nmg g1 P1 Lx v\r\nmg g9 q k\r\nmg g9 T30 v\r\nmn\r\n",
        NormalizeCas);

    [Fact]
    public void MetaSet_AgainstRealMemcached_SameReplies() => AssertSameAsMemcached(
        "ms s1 2\r\nhi\r\nms s1 2 q\r\nho\r\nms s1 2 k O5 q\r\nho\r\nms s2 2 ME\r\nab\r\nms s2 2 ME\r\ncd\r\n"
        + "ms s3 1 MR\r\nx\r\nms s2 1 MR k O1\r\nx\r\nms s2 2 MA\r\nyz\r\nms s2 1 MP\r\n_\r\nms s9 1 MA\r\nq\r\n"
        + "ms s9 1 MP q\r\nq\r\nms s7 0 MS F7\r\n\r\nmg s7 v f\r\nms s4 1 T-1\r\nx\r\nmg s4 v\r\n"
        + "ms s5 3 F4294967295 T100\r\nabc\r\nmg s5 f v t\r\nms s1 2 C1\r\nno\r\nms s8 2 C1\r\nno\r\n"
        + "ms s1 2 MA C1\r\nno\r\nms s8 2 MA C1\r\nno\r\nms s1 2 MR C1 q\r\nno\r\nms s1 2 I\r\nxx\r\n"
        + "ms s6 1 c k\r\nz\r\nms s6 1 ME c\r\nz\r\nmg s1 v\r\nmg s2 v f\r\nmg s6 v\r\nget s2\r\nmn\r\n",
        NormalizeCas);

    [Fact]
    public void MetaDelete_AgainstRealMemcached_SameReplies() => AssertSameAsMemcached(
        "md d1\r\nmd d1 q\r\nms d1 1\r\na\r\nmd d1 O3 k\r\nms d1 1\r\na\r\nmd d1 q\r\nmg d1\r\n"
        + "ms d2 1\r\na\r\nmd d2 C1\r\nmd d9 C1 O2\r\nms ZDM= 1 b\r\na\r\nmd ZDM= b k\r\nmd d2 T30\r\nmg d2\r\n"
        + "set d4 0 0 1\r\nx\r\nmd d4 q\r\nget d4\r\nmn\r\n");

    [Fact]
    public void MetaArithmetic_AgainstRealMemcached_SameReplies() => AssertSameAsMemcached(
        "ma a1\r\nma a1 q\r\nmn\r\nma a1 N0 J10 v\r\nma a1 v\r\nma a1 D9 v\r\nma a1 MD D25 v\r\nma a1 M- v\r\n"
        + "ma a1 M+ D18446744073709551615 v\r\nma a1 MI v\r\nma a1 q\r\nma a1 k O4\r\nma a1 t v\r\nma a1 T100 t\r\n"
        + "ma a1 C1\r\nma a9 C1\r\nma a9 C1 N0 J3 v\r\nms a2 2\r\nxy\r\nma a2\r\nma a2 q\r\nma a1 c v\r\n"
        + "set a3 5 0 2\r\n10\r\nma a3 MD v k\r\nincr a1 1\r\nmn\r\n",
        NormalizeCas);

    [Fact]
    public void MetaDebugAndNoOp_AgainstRealMemcached_SameReplies() => AssertSameAsMemcached(
        "me m1\r\nms m1 2 T100\r\nhi\r\nme m1\r\nms bTI= 2 b\r\nhi\r\nme bTI= b\r\nme\r\nmn\r\nmn extra\r\nmd m1\r\nme m1\r\n",
        NormalizeCas);

    [Fact]
    public void MetaBadInput_AgainstRealMemcached_SameRepliesAndNothingLost()
    {
        var longKey = new string('k', 251);
        var longOpaque = "O" + new string('o', 32);
        AssertSameAsMemcached(
            "ms keep 4\r\nkeep\r\n"
            + $"mg {longKey} v\r\nmg k1 Tx\r\nmg k1 T\r\nmg k1 Nx\r\nmg k1 !\r\nmg k1 v v\r\nmg !!!! b\r\nmg Zm9v= b\r\nmg k1 {longOpaque}\r\n"
            + "mg k1 a b c d e f g h i j k l m n o p q r\r\nmg k1 s t c f l h O1 k v q u P L a\r\n"
            + $"ms k1 x\r\nhi\r\nms k1 -1\r\nms {longKey} 2\r\nhi\r\nms k1 2 Fx\r\nhi\r\nms k1 2 F\r\nhi\r\nms k1 2 MZ\r\nhi\r\n"
            + $"ms k1 2 Mxx\r\nhi\r\nms k1 2 Cx\r\nhi\r\nms k1 2 T1x\r\nhi\r\nms !!!! 2 b\r\nhi\r\nms k1 2 !\r\nhi\r\nms k1 2 {longOpaque}\r\nhi\r\n"
            + "ms k1 2\r\nhiXX\r\nms\r\nms k1\r\nmd\r\nma\r\nmg\r\n"
            + $"md {longKey}\r\nmd k1 Cx\r\nmd k1 !\r\nmd keep q q\r\nma k1 Dx\r\nma k1 D-1\r\nma k1 Jx N0\r\nma k1 MX\r\nma k1 Mxx\r\nma {longKey}\r\n"
            + "ma keep v v\r\nmg keep v\r\nmg k1 v\r\nmn\r\n");
    }

    [Fact]
    public void MetaCas_IsTheGetsUnique_AndAWriteInBetweenIsEX()
    {
        var set = Run("ms c1 1 c\r\na\r\nmg c1 c v\r\ngets c1\r\n", "END\r\n");
        var unique = Regex.Match(set, @"^HD c(\d+)\r\n").Groups[1].Value;
        Assert.NotEmpty(unique);
        Assert.Equal($"HD c{unique}\r\nVA 1 c{unique}\r\na\r\nVALUE c1 0 1 {unique}\r\na\r\nEND\r\n", set);

        // The cas from ms/mg works with the text cas, and the other way round; each write changes it.
        var stored = Run($"ms c1 1 C{unique} c\r\nb\r\nms c1 1 C{unique}\r\nc\r\ncas c1 0 0 1 {unique}\r\nd\r\n", "EXISTS\r\n");
        var next = Regex.Match(stored, @"^HD c(\d+)\r\nEX\r\nEXISTS\r\n$").Groups[1].Value;
        Assert.NotEmpty(next);
        Assert.NotEqual(unique, next);

        // A write in between, through Redis with the same value: md, ma and ms with the old cas answer EX and change nothing.
        _server.Connect().GetDatabase().StringSet("c1", "b");
        Assert.Equal(
            "EX\r\nEX\r\nEX\r\nEX\r\nVA 1\r\nb\r\n",
            Run($"ms c1 1 C{next}\r\nz\r\nms c1 1 MA C{next}\r\nz\r\nmd c1 C{next}\r\nma c1 C{next}\r\nmg c1 v\r\n", "b\r\n"));

        var current = Regex.Match(Run("gets c1\r\n", "END\r\n"), @"VALUE c1 0 1 (\d+)\r\n").Groups[1].Value;
        Assert.Equal("HD\r\nEN\r\n", Run($"md c1 C{current}\r\nmg c1\r\n", "EN\r\n"));
        var counter = Run("ms n1 1\r\n5\r\nma n1 c v\r\ngets n1\r\n", "END\r\n");
        var afterIncrement = Regex.Match(counter, @"^HD\r\nVA 1 c(\d+)\r\n6\r\n").Groups[1].Value;
        Assert.NotEmpty(afterIncrement);
        Assert.EndsWith($"VALUE n1 0 1 {afterIncrement}\r\n6\r\nEND\r\n", counter, StringComparison.Ordinal);
    }

    [Fact]
    public void MetaSet_SentOneByteAtATime_IsTheSameAsWhole()
    {
        const string Script = "ms w1 5 T100 F3\r\nab\r\nd\r\nmg w1 v f t\r\nms w1 2 MZ\r\nxy\r\nma w2 N0 J1 v\r\nmn\r\n";
        using var client = new TcpClient();
        client.Connect(IPAddress.Loopback, MemcachedPort(_server));
        client.NoDelay = true;
        var stream = client.GetStream();
        stream.ReadTimeout = 10_000;
        foreach (var b in Encoding.ASCII.GetBytes(Script))
        {
            stream.WriteByte(b);
            stream.Flush();
        }

        var reply = new StringBuilder();
        var buffer = new byte[4096];
        while (!reply.ToString().EndsWith("MN\r\n", StringComparison.Ordinal))
        {
            var n = stream.Read(buffer);
            Assert.NotEqual(0, n);
            reply.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }

        const string Expected = "HD\r\nVA 5 f3 t100\r\nab\r\nd\r\nCLIENT_ERROR invalid mode for ms M token\r\nVA 1\r\n1\r\nMN\r\n";
        Assert.Equal(Expected, reply.ToString());
        Assert.Equal(Expected, Run(Script.Replace("w1", "w3", StringComparison.Ordinal).Replace("w2", "w4", StringComparison.Ordinal), "MN\r\n"));
    }

    [Fact]
    public void MetaUnsupported_Invalidate_IsAClientError()
    {
        Assert.Equal(
            "HD\r\nCLIENT_ERROR invalidate (I) is not supported\r\nCLIENT_ERROR invalidate (I) is not supported\r\nVA 1\r\na\r\n",
            Run("ms i1 1\r\na\r\nmd i1 I\r\nms i1 1 I C1\r\nb\r\nmg i1 v\r\n", "a\r\n"));
    }

    [Fact]
    public void Memccapable_Ascii_AllTestsPass()
    {
        var tool = EndToEnd.RedisCliTests.Tool("memccapable");
        using var server = new ServerProcess("--memcached-listen", "127.0.0.1:0", "--memcached-flush-all");
        var output = EndToEnd.RedisCliTests.Run(tool, "-h", "127.0.0.1", "-p", MemcachedPort(server).ToString(System.Globalization.CultureInfo.InvariantCulture), "-a");
        Assert.Contains("All tests passed", output, StringComparison.Ordinal);
        Assert.Matches(@"ascii stat +\[pass\]", output);
    }
}
