using System;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using RingKV.Server.Tests.Support;
using RingKV.Testing.Processes;
using Xunit;

namespace RingKV.Server.Tests.Commands;

/// <summary>
/// A connection keeps pipelined commands in flight together (under sync always every write waits for an fsync), with
/// replies in request order and commands on one key in order.
/// </summary>
public sealed partial class PipelineWindowTests : IClassFixture<ServerFixture>
{
    private readonly ServerFixture _fixture;

    public PipelineWindowTests(ServerFixture fixture)
    {
        _fixture = fixture;
    }

    [Fact]
    public void Pipeline_WritesAndReadsOfOneKeyUnderSyncAlways_SeeEachOtherInRequestOrder()
    {
        using var client = new RawClient(_fixture.Server.EndPoint);
        var request = new StringBuilder();
        for (var round = 0; round < 20; round++)
        {
            // SET with an option is not batched with other SETs: each is its own write, waiting for its fsync.
            request.Append(Encoding.UTF8.GetString(RawClient.Encode("SET", "pw:k", $"v{round}", "EX", "100")));
            request.Append(Encoding.UTF8.GetString(RawClient.Encode("GET", "pw:k")));
            request.Append(Encoding.UTF8.GetString(RawClient.Encode("APPEND-NOT-A-COMMAND", "x")));
            request.Append(Encoding.UTF8.GetString(RawClient.Encode("GET", "pw:other")));
        }

        request.Append(Encoding.UTF8.GetString(RawClient.Encode("DEL", "pw:k")));
        request.Append(Encoding.UTF8.GetString(RawClient.Encode("EXISTS", "pw:k")));
        client.Send(request.ToString());

        for (var round = 0; round < 20; round++)
        {
            Assert.Equal("+OK", RawClient.Describe(client.Read()));
            Assert.Equal($"v{round}", RawClient.Describe(client.Read()));
            Assert.StartsWith("-ERR unknown command", RawClient.Describe(client.Read()), StringComparison.Ordinal);
            Assert.Equal("(nil)", RawClient.Describe(client.Read()));
        }

        Assert.Equal(":1", RawClient.Describe(client.Read()));
        Assert.Equal(":0", RawClient.Describe(client.Read()));
    }

    [Fact]
    public void Pipeline_WritesToManyKeysUnderSyncAlways_ShareFsyncs()
    {
        using var client = new RawClient(_fixture.Server.EndPoint);
        const int Writes = 64;
        var syncsBefore = LogSyncs(client);
        var request = new StringBuilder();
        for (var i = 0; i < Writes; i++)
        {
            request.Append(Encoding.UTF8.GetString(RawClient.Encode("SET", $"pw:many:{i}", "v", "EX", "100")));
        }

        client.Send(request.ToString());
        for (var i = 0; i < Writes; i++)
        {
            Assert.Equal("+OK", RawClient.Describe(client.Read()));
        }

        // One at a time, each write would have had an fsync of its own: in flight together they share them.
        var syncs = LogSyncs(client) - syncsBefore;
        Assert.True(syncs < Writes / 2, $"{Writes} pipelined writes took {syncs} fsyncs");
        for (var i = 0; i < Writes; i++)
        {
            Assert.Equal("v", RawClient.Describe(client.Call("GET", $"pw:many:{i}")));
        }
    }

    private static long LogSyncs(RawClient client)
    {
        var info = RawClient.Describe(client.Call("INFO", "persistence"));
        return long.Parse(LogSyncsLine().Match(info).Groups[1].Value, CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"log_syncs:(\d+)")]
    private static partial Regex LogSyncsLine();
}
