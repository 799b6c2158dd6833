using System;
using System.Buffers;
using System.Globalization;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using RingKV.Core.Errors;
using RingKV.Net.Resp;
using RingKV.Server.Resp;

namespace RingKV.Server.Commands;

/// <summary>Executes the commands of one client connection against the node's store.</summary>
/// <remarks>
/// One instance per connection, called by one pump at a time: not thread-safe, holds the connection's
/// state (protocol version, authentication, name). Reply shapes and error texts follow Redis 7.
/// </remarks>
internal sealed partial class CommandHandler : IRespHandler
{
    private readonly NodeContext _node;
    private readonly ClientInfo _client;
    private readonly ArrayBufferWriter<byte> _value = new(256);
    private bool _authenticated;

    public CommandHandler(NodeContext node, ClientInfo client)
    {
        _node = node;
        _client = client;
        _authenticated = node.Options.Password is null;
        node.CountConnection();
    }

    public ValueTask<RespAction> ExecuteAsync(RespCommand command, RespWriter writer, CancellationToken cancellationToken)
    {
        _node.CountCommand();
        _client.NoteCommand(command.Name);
        try
        {
            return new ValueTask<RespAction>(Execute(command, writer));
        }
        catch (RingKVException e)
        {
            FlushPending(writer);
            writer.WriteError(e.Code == ErrorCode.InvalidArgument ? "ERR " + e.Message : $"ERR {e.Code}: {e.Message}");
            return new ValueTask<RespAction>(RespAction.Continue);
        }
    }

    private RespAction Execute(RespCommand c, RespWriter w)
    {
        if (!_authenticated && !c.IsCommand("AUTH"u8) && !c.IsCommand("HELLO"u8) && !c.IsCommand("QUIT"u8))
        {
            w.WriteError("NOAUTH Authentication required."u8);
            return RespAction.Continue;
        }

        if (TryDefer(c, w))
        {
            return RespAction.Continue;
        }

        // Hot commands first; the chain compares a few bytes each and allocates nothing.
        if (c.IsCommand("GET"u8))
        {
            return Arity(c, w, 2) ? Get(c, w) : RespAction.Continue;
        }

        if (c.IsCommand("SET"u8))
        {
            return Arity(c, w, -3) ? Set(c, w) : RespAction.Continue;
        }

        if (c.IsCommand("PING"u8))
        {
            return Ping(c, w);
        }

        if (c.IsCommand("SETNX"u8))
        {
            return Arity(c, w, 3) ? SetNx(c, w) : RespAction.Continue;
        }

        if (c.IsCommand("SETEX"u8))
        {
            return Arity(c, w, 4) ? SetEx(c, w, 1000) : RespAction.Continue;
        }

        if (c.IsCommand("PSETEX"u8))
        {
            return Arity(c, w, 4) ? SetEx(c, w, 1) : RespAction.Continue;
        }

        if (c.IsCommand("MGET"u8))
        {
            return Arity(c, w, -2) ? MGet(c, w) : RespAction.Continue;
        }

        if (c.IsCommand("MSET"u8))
        {
            return Arity(c, w, -3) ? MSet(c, w, onlyIfNoneExist: false) : RespAction.Continue;
        }

        if (c.IsCommand("DEL"u8) || c.IsCommand("UNLINK"u8))
        {
            return Arity(c, w, -2) ? Del(c, w) : RespAction.Continue;
        }

        if (c.IsCommand("EXISTS"u8))
        {
            return Arity(c, w, -2) ? Exists(c, w) : RespAction.Continue;
        }

        if (c.IsCommand("GETDEL"u8))
        {
            return Arity(c, w, 2) ? GetDel(c, w) : RespAction.Continue;
        }

        if (c.IsCommand("GETEX"u8))
        {
            return Arity(c, w, -2) ? GetEx(c, w) : RespAction.Continue;
        }

        if (c.IsCommand("MSETNX"u8))
        {
            return Arity(c, w, -3) ? MSet(c, w, onlyIfNoneExist: true) : RespAction.Continue;
        }

        if (c.IsCommand("EXPIRE"u8))
        {
            return Arity(c, w, -3) ? Expire(c, w, 1000, absolute: false) : RespAction.Continue;
        }

        if (c.IsCommand("PEXPIRE"u8))
        {
            return Arity(c, w, -3) ? Expire(c, w, 1, absolute: false) : RespAction.Continue;
        }

        if (c.IsCommand("EXPIREAT"u8))
        {
            return Arity(c, w, -3) ? Expire(c, w, 1000, absolute: true) : RespAction.Continue;
        }

        if (c.IsCommand("PEXPIREAT"u8))
        {
            return Arity(c, w, -3) ? Expire(c, w, 1, absolute: true) : RespAction.Continue;
        }

        if (c.IsCommand("TTL"u8))
        {
            return Arity(c, w, 2) ? Ttl(c, w, 1000) : RespAction.Continue;
        }

        if (c.IsCommand("PTTL"u8))
        {
            return Arity(c, w, 2) ? Ttl(c, w, 1) : RespAction.Continue;
        }

        if (c.IsCommand("PERSIST"u8))
        {
            return Arity(c, w, 2) ? Persist(c, w) : RespAction.Continue;
        }

        if (c.IsCommand("TYPE"u8))
        {
            return Arity(c, w, 2) ? TypeOf(c, w) : RespAction.Continue;
        }

        if (c.IsCommand("SCAN"u8))
        {
            return Arity(c, w, -2) ? Scan(c, w) : RespAction.Continue;
        }

        if (c.IsCommand("DBSIZE"u8))
        {
            return Arity(c, w, 1) ? DbSize(w) : RespAction.Continue;
        }

        if (c.IsCommand("KV.GET"u8))
        {
            return Arity(c, w, 2) ? KvGet(c, w) : RespAction.Continue;
        }

        if (c.IsCommand("KV.PUT"u8))
        {
            return Arity(c, w, -3) ? KvPut(c, w) : RespAction.Continue;
        }

        if (c.IsCommand("KV.DEL"u8))
        {
            return Arity(c, w, -2) ? KvDel(c, w) : RespAction.Continue;
        }

        if (c.IsCommand("ECHO"u8))
        {
            if (Arity(c, w, 2))
            {
                w.WriteBulkString(c[1]);
            }

            return RespAction.Continue;
        }

        if (c.IsCommand("HELLO"u8))
        {
            return Hello(c, w);
        }

        if (c.IsCommand("AUTH"u8))
        {
            return Arity(c, w, -2) ? Auth(c, w) : RespAction.Continue;
        }

        if (c.IsCommand("SELECT"u8))
        {
            if (Arity(c, w, 2))
            {
                if (!c.TryGetInt64(1, out var db))
                {
                    w.WriteError(RespErrors.NotInteger);
                }
                else if (db != 0)
                {
                    w.WriteError("ERR DB index is out of range"u8);
                }
                else
                {
                    w.WriteOk();
                }
            }

            return RespAction.Continue;
        }

        if (c.IsCommand("QUIT"u8))
        {
            w.WriteOk();
            return RespAction.Close;
        }

        if (c.IsCommand("RESET"u8))
        {
            _client.Name = "";
            _client.Protocol = 2;
            w.Protocol = 2;
            _authenticated = _node.Options.Password is null;
            w.WriteSimpleString("RESET"u8);
            return RespAction.Continue;
        }

        if (c.IsCommand("COMMAND"u8))
        {
            return CommandInfo(c, w);
        }

        if (c.IsCommand("CONFIG"u8))
        {
            return Arity(c, w, -2) ? Config(c, w) : RespAction.Continue;
        }

        if (c.IsCommand("INFO"u8))
        {
            return Info(c, w);
        }

        if (c.IsCommand("CLIENT"u8))
        {
            return Arity(c, w, -2) ? Client(c, w) : RespAction.Continue;
        }

        if (c.IsCommand("FLUSHALL"u8) || c.IsCommand("FLUSHDB"u8))
        {
            return FlushAll(c, w);
        }

        UnknownCommand(c, w);
        return RespAction.Continue;
    }

    private static void UnknownCommand(RespCommand c, RespWriter w)
    {
        var message = new StringBuilder("ERR unknown command '");
        message.Append(Printable(c[0], 128)).Append("', with args beginning with: ");
        for (var i = 1; i < c.Count && i < 8; i++)
        {
            message.Append('\'').Append(Printable(c[i], 128)).Append("' ");
        }

        w.WriteError(message.ToString());
    }

    /// <summary>Checks Redis arity: n exact, -n at least n (the command name counts). Writes the error when wrong.</summary>
    private static bool Arity(RespCommand c, RespWriter w, int arity)
    {
        if (arity > 0 ? c.Count == arity : c.Count >= -arity)
        {
            return true;
        }

        w.WriteError($"ERR wrong number of arguments for '{Encoding.UTF8.GetString(c[0]).ToLowerInvariant()}' command");
        return false;
    }

    private static string Printable(ReadOnlySpan<byte> bytes, int max)
    {
        var text = Encoding.UTF8.GetString(bytes[..Math.Min(bytes.Length, max)]);
        var sb = new StringBuilder(text.Length);
        foreach (var ch in text)
        {
            sb.Append(char.IsControl(ch) ? ' ' : ch);
        }

        return sb.ToString();
    }

    private static RespAction Ping(RespCommand c, RespWriter w)
    {
        if (c.Count > 2)
        {
            Arity(c, w, 1);
        }
        else if (c.Count == 2)
        {
            w.WriteBulkString(c[1]);
        }
        else
        {
            w.WriteSimpleString("PONG"u8);
        }

        return RespAction.Continue;
    }

    private RespAction Auth(RespCommand c, RespWriter w)
    {
        if (c.Count > 3)
        {
            w.WriteError(RespErrors.Syntax);
            return RespAction.Continue;
        }

        if (c.Count == 2 && _node.Options.Password is null)
        {
            // Redis keeps the old error for the one-argument form when nothing is configured.
            w.WriteError("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"u8);
            return RespAction.Continue;
        }

        var user = c.Count == 3 ? c[1] : "default"u8;
        if (Authenticate(user, c[c.Count - 1]))
        {
            _authenticated = true;
            w.WriteOk();
        }
        else
        {
            w.WriteError("WRONGPASS invalid username-password pair or user is disabled."u8);
        }

        return RespAction.Continue;
    }

    /// <summary>
    /// Whether a user and password log in, for AUTH and HELLO ... AUTH alike. The only user is Redis's "default": with
    /// --password it needs that password; without one it is Redis's nopass default user and any password does.
    /// </summary>
    private bool Authenticate(ReadOnlySpan<byte> user, ReadOnlySpan<byte> given)
    {
        if (!user.SequenceEqual("default"u8))
        {
            return false;
        }

        var password = _node.Options.Password;
        return password is null
            || System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(password), given);
    }

    private RespAction Hello(RespCommand c, RespWriter w)
    {
        var protocol = _client.Protocol;
        var i = 1;
        if (c.Count > 1)
        {
            if (!c.TryGetInt64(1, out var requested))
            {
                w.WriteError("ERR Protocol version is not an integer or out of range"u8);
                return RespAction.Continue;
            }

            if (requested is not (2 or 3))
            {
                w.WriteError("NOPROTO unsupported protocol version"u8);
                return RespAction.Continue;
            }

            protocol = (int)requested;
            i = 2;
        }

        string? name = null;
        for (; i < c.Count; i++)
        {
            if (c.ArgumentEquals(i, "AUTH"u8) && i + 2 < c.Count)
            {
                if (!Authenticate(c[i + 1], c[i + 2]))
                {
                    w.WriteError("WRONGPASS invalid username-password pair or user is disabled."u8);
                    return RespAction.Continue;
                }

                _authenticated = true;
                i += 2;
            }
            else if (c.ArgumentEquals(i, "SETNAME"u8) && i + 1 < c.Count)
            {
                name = Encoding.UTF8.GetString(c[i + 1]);
                i++;
            }
            else
            {
                w.WriteError($"ERR Syntax error in HELLO option '{Printable(c[i], 64)}'");
                return RespAction.Continue;
            }
        }

        if (!_authenticated)
        {
            w.WriteError("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"u8);
            return RespAction.Continue;
        }

        if (name is not null)
        {
            _client.Name = name;
        }

        _client.Protocol = protocol;
        w.Protocol = protocol;
        w.WriteMapHeader(7);
        w.WriteBulkString("server"u8);
        w.WriteBulkString("redis"u8);
        w.WriteBulkString("version"u8);
        w.WriteBulkString(ServerInfo.RedisVersionUtf8);
        w.WriteBulkString("proto"u8);
        w.WriteInteger(protocol);
        w.WriteBulkString("id"u8);
        w.WriteInteger(_client.Id);
        w.WriteBulkString("mode"u8);
        w.WriteBulkString("standalone"u8);
        w.WriteBulkString("role"u8);
        w.WriteBulkString("master"u8);
        w.WriteBulkString("modules"u8);
        w.WriteArrayHeader(0);
        return RespAction.Continue;
    }

    /// <summary>FLUSHALL and FLUSHDB [ASYNC|SYNC]: both flush at once here; anything else is a syntax error and flushes nothing.</summary>
    private RespAction FlushAll(RespCommand c, RespWriter w)
    {
        if (c.Count > 2 || (c.Count == 2 && !c.ArgumentEquals(1, "ASYNC"u8) && !c.ArgumentEquals(1, "SYNC"u8)))
        {
            w.WriteError(RespErrors.Syntax);
            return RespAction.Continue;
        }

        if (!_node.Options.EnableFlushAll)
        {
            w.WriteError("ERR FLUSHALL is disabled on this node (start it with --enable-flushall to allow it)"u8);
            return RespAction.Continue;
        }

        _node.Store.FlushAll();
        w.WriteOk();
        return RespAction.Continue;
    }

    private static string Lower(ReadOnlySpan<byte> bytes) => Encoding.UTF8.GetString(bytes).ToLowerInvariant();

    private static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);
}
