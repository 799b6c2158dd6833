using System;
using RingKV.Testing.Processes;
using StackExchange.Redis;

namespace RingKV.Server.Tests.Support;

/// <summary>One default server and one StackExchange.Redis connection shared by a test class.</summary>
/// <remarks>Tests sharing it use key prefixes of their own, so their keys never meet.</remarks>
public class ServerFixture : IDisposable
{
    public ServerFixture()
        : this([])
    {
    }

    protected ServerFixture(string[] flags)
    {
        Server = new ServerProcess(flags);
        Redis = Server.Connect();
    }

    public ServerProcess Server { get; }

    public ConnectionMultiplexer Redis { get; }

    public IDatabase Db => Redis.GetDatabase();

    public IServer Admin => Redis.GetServer(Server.EndPoint);

    public void Dispose()
    {
        Server.Dispose();
        GC.SuppressFinalize(this);
    }
}
