using System.Linq;
using StackExchange.Redis;
using Xunit;

namespace RingKV.Server.Tests.Support;

/// <summary>
/// A command test class whose cases run on a single node and through a cluster: writes go through <see cref="Writer"/>,
/// reads through <see cref="Reader"/> (another node in a cluster, the same one on a single node).
/// </summary>
public abstract class CommandCases
{
    /// <summary>Where the case's writes go.</summary>
    protected abstract IDatabase Writer { get; }

    /// <summary>Where its reads go.</summary>
    protected abstract IDatabase Reader { get; }

    /// <summary>A command through <see cref="Writer"/>: name first, then its arguments.</summary>
    protected RedisResult W(params object[] args) => Writer.Execute((string)args[0], args.Skip(1).ToArray());

    /// <summary>A command through <see cref="Reader"/>.</summary>
    protected RedisResult R(params object[] args) => Reader.Execute((string)args[0], args.Skip(1).ToArray());

    /// <summary>The error a command through <paramref name="db"/> answers (the test fails if it answers anything else).</summary>
    protected static string Error(IDatabase db, params object[] args) =>
        Assert.Throws<RedisServerException>(() => db.Execute((string)args[0], args.Skip(1).ToArray())).Message;
}
