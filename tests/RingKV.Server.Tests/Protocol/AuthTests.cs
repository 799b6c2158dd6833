using System;
using RingKV.Server.Tests.Support;
using RingKV.Testing.Processes;
using Xunit;

namespace RingKV.Server.Tests.Protocol;

/// <summary>A server started with --password.</summary>
public sealed class AuthTests(AuthTests.PasswordServer fixture) : IClassFixture<AuthTests.PasswordServer>
{
    public const string Password = "s3cret-pw";

    [Fact]
    public void Command_BeforeAuth_NoAuth()
    {
        using var raw = fixture.Server.ConnectRaw();
        Assert.StartsWith("-NOAUTH", raw.CallText("PING"), StringComparison.Ordinal);
        Assert.StartsWith("-NOAUTH", raw.CallText("SET", "auth:k", "v"), StringComparison.Ordinal);
        Assert.StartsWith("-NOAUTH", raw.CallText("GET", "auth:k"), StringComparison.Ordinal);
        Assert.StartsWith("-NOAUTH", raw.CallText("KV.GET", "auth:k"), StringComparison.Ordinal);
        Assert.StartsWith("-NOAUTH", raw.CallText("HELLO", "3"), StringComparison.Ordinal);
    }

    [Fact]
    public void Auth_WrongPassword_WrongPassAndStillLocked()
    {
        using var raw = fixture.Server.ConnectRaw();
        Assert.StartsWith("-WRONGPASS", raw.CallText("AUTH", "nope"), StringComparison.Ordinal);
        Assert.StartsWith("-WRONGPASS", raw.CallText("AUTH", "default", "nope"), StringComparison.Ordinal);
        Assert.StartsWith("-WRONGPASS", raw.CallText("AUTH", "admin", Password), StringComparison.Ordinal);
        Assert.StartsWith("-NOAUTH", raw.CallText("PING"), StringComparison.Ordinal);
    }

    [Fact]
    public void Auth_CorrectPassword_CommandsWork()
    {
        using var raw = fixture.Server.ConnectRaw();
        Assert.Equal("+OK", raw.CallText("AUTH", Password));
        Assert.Equal("+PONG", raw.CallText("PING"));
        Assert.Equal("+OK", raw.CallText("SET", "auth:raw", "v"));
        Assert.Equal("v", raw.CallText("GET", "auth:raw"));

        // RESET logs the connection out again.
        Assert.Equal("+RESET", raw.CallText("RESET"));
        Assert.StartsWith("-NOAUTH", raw.CallText("GET", "auth:raw"), StringComparison.Ordinal);

        using var user = fixture.Server.ConnectRaw();
        Assert.Equal("+OK", user.CallText("AUTH", "default", Password));
        Assert.Equal("v", user.CallText("GET", "auth:raw"));
    }

    [Fact]
    public void Hello3_WithAuth_AuthenticatesAndSwitches()
    {
        using var raw = fixture.Server.ConnectRaw();
        var reply = Assert.IsType<object?[]>(raw.Call("HELLO", "3", "AUTH", "default", Password, "SETNAME", "hello-auth"));
        Assert.Equal(14, reply.Length);
        Assert.Equal(3L, reply[5]);
        Assert.Equal("+PONG", raw.CallText("PING"));
        Assert.Equal("hello-auth", raw.CallText("CLIENT", "GETNAME"));

        using var wrong = fixture.Server.ConnectRaw();
        Assert.StartsWith("-WRONGPASS", wrong.CallText("HELLO", "3", "AUTH", "default", "nope"), StringComparison.Ordinal);
        Assert.StartsWith("-NOAUTH", wrong.CallText("PING"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("default", Password, true)]
    [InlineData("default", "nope", false)]
    [InlineData("admin", Password, false)]
    [InlineData("DEFAULT", Password, false)]
    public void AuthAndHelloAuth_SameCredentials_SameAnswer(string user, string password, bool accepted)
    {
        var (auth, hello) = BothWays(fixture.Server, user, password);
        Assert.Equal(accepted, auth);
        Assert.Equal(accepted, hello);
    }

    [Theory]
    [InlineData("default", "anything")]
    [InlineData("admin", "anything")]
    public void AuthAndHelloAuth_NoPasswordConfigured_SameAnswer(string user, string password)
    {
        // Without --password the default user is Redis's nopass user: any password logs it in, any other user fails.
        using var server = new ServerProcess();
        var (auth, hello) = BothWays(server, user, password);
        Assert.Equal(user == "default", auth);
        Assert.Equal(auth, hello);

        using var raw = server.ConnectRaw();
        Assert.StartsWith("-ERR AUTH <password> called without any password configured", raw.CallText("AUTH", password), StringComparison.Ordinal);
    }

    /// <summary>Whether AUTH user password, and HELLO 3 AUTH user password on another connection, log in.</summary>
    private static (bool Auth, bool Hello) BothWays(ServerProcess server, string user, string password)
    {
        using var viaAuth = server.ConnectRaw();
        var auth = viaAuth.CallText("AUTH", user, password);
        Assert.True(auth is "+OK" || auth.StartsWith("-WRONGPASS", StringComparison.Ordinal), auth);

        using var viaHello = server.ConnectRaw();
        var hello = viaHello.Call("HELLO", "3", "AUTH", user, password);
        Assert.True(hello is object?[] || hello is RespError { Message: var m } && m.StartsWith("WRONGPASS", StringComparison.Ordinal), RawClient.Describe(hello));
        return (auth == "+OK", hello is object?[]);
    }

    [Fact]
    public void StackExchangeRedis_WithPassword_Connects()
    {
        var db = fixture.Server.Connect(Password).GetDatabase();
        db.StringSet("auth:ser", "v");
        Assert.Equal("v", (string?)db.StringGet("auth:ser"));
    }

    [Fact]
    public void Quit_BeforeAuth_Allowed()
    {
        using var raw = fixture.Server.ConnectRaw();
        Assert.Equal("+OK", raw.CallText("QUIT"));
        Assert.True(raw.ReadUntilClosed(TimeSpan.FromSeconds(10)).Closed);
    }

    public sealed class PasswordServer : ServerFixture
    {
        public PasswordServer()
            : base(["--password", Password])
        {
        }
    }
}
