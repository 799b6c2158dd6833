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
    public void Script_AgainstRealMemcached_SameReplies()
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
                    expected = Exchange(port, ComparedScript, null);
                }
                catch (SocketException) when (DateTime.UtcNow < deadline)
                {
                    Thread.Sleep(100);
                }
            }

            var actual = Run(ComparedScript, null);
            Assert.Equal(expected.Split("\r\n"), actual.Split("\r\n"));
        }
        finally
        {
            memcached.Kill();
            memcached.WaitForExit();
        }
    }
}
