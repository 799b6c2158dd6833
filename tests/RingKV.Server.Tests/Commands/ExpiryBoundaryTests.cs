using System;
using System.Collections.Generic;
using System.Globalization;
using System.Numerics;
using RingKV.Server.Tests.Support;
using Xunit;

namespace RingKV.Server.Tests.Commands;

/// <summary>Every expiry-taking command with boundary times: each gets its reply and the connection stays open (issue 15).</summary>
public sealed class ExpiryBoundaryTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    /// <summary>The last millisecond the engine can store as an expiry: 9999-12-31T23:59:59.999Z.</summary>
    private static readonly long MaxExpiryUnixMs = DateTimeOffset.MaxValue.ToUnixTimeMilliseconds();

    private enum Outcome
    {
        /// <summary>"ERR invalid expire time in '...' command"; the key keeps its value and TTL.</summary>
        Invalid,

        /// <summary>The time is now or earlier: the key is gone after the command.</summary>
        Past,

        /// <summary>The key expires at the time asked.</summary>
        Future,
    }

    /// <summary>One way to give a key an expiry: how to build the command and how Redis reads its time argument.</summary>
    /// <param name="Name">The command, and its option when it has one.</param>
    /// <param name="Build">The command for a key and a time.</param>
    /// <param name="UnitMs">Milliseconds per unit of the time: 1000 for seconds.</param>
    /// <param name="Absolute">A Unix time rather than one relative to now.</param>
    /// <param name="SetRules">SET, SETEX, PSETEX, GETEX (t_string.c): the time must be positive. EXPIRE and friends (expire.c) take any time; the past deletes.</param>
    /// <param name="Writes">Whether the command replaces the value ("new") rather than keeping it.</param>
    private sealed record Form(string Name, Func<string, long, object[]> Build, long UnitMs, bool Absolute, bool SetRules, bool Writes);

    private static readonly Form[] Forms =
    [
        new("SET EX", (k, a) => ["SET", k, "new", "EX", a], 1000, false, true, true),
        new("SET PX", (k, a) => ["SET", k, "new", "PX", a], 1, false, true, true),
        new("SET EXAT", (k, a) => ["SET", k, "new", "EXAT", a], 1000, true, true, true),
        new("SET PXAT", (k, a) => ["SET", k, "new", "PXAT", a], 1, true, true, true),
        new("SETEX", (k, a) => ["SETEX", k, a, "new"], 1000, false, true, true),
        new("PSETEX", (k, a) => ["PSETEX", k, a, "new"], 1, false, true, true),
        new("GETEX EX", (k, a) => ["GETEX", k, "EX", a], 1000, false, true, false),
        new("GETEX PX", (k, a) => ["GETEX", k, "PX", a], 1, false, true, false),
        new("GETEX EXAT", (k, a) => ["GETEX", k, "EXAT", a], 1000, true, true, false),
        new("GETEX PXAT", (k, a) => ["GETEX", k, "PXAT", a], 1, true, true, false),
        new("EXPIRE", (k, a) => ["EXPIRE", k, a], 1000, false, false, false),
        new("PEXPIRE", (k, a) => ["PEXPIRE", k, a], 1, false, false, false),
        new("EXPIREAT", (k, a) => ["EXPIREAT", k, a], 1000, true, false, false),
        new("PEXPIREAT", (k, a) => ["PEXPIREAT", k, a], 1, true, false, false),
    ];

    // Times whose outcome does not depend on the exact clock: none lands within hours of now or of the year-9999 bound
    // once now is added, so client and server clocks need not agree to the millisecond.
    private static readonly long[] Amounts =
    [
        0,
        -1,
        -5_000,
        long.MinValue,
        long.MinValue / 1000,
        (long.MinValue / 1000) - 1,
        1L << 31,
        1L << 53,
        long.MaxValue,
        long.MaxValue / 1000,
        (long.MaxValue / 1000) + 1,
        long.MaxValue - 1000,           // relative: its sum with now overflows
        253_402_300_799,                // 9999-12-31T23:59:59 in seconds: fits as EXAT, not as EX
        253_402_300_800,                // a second past year 9999 as EXAT
        253_402_300_799_999,            // the last storable ms as PXAT
        253_402_300_800_000,            // one ms past it
        9_999_999_999_999,
        999_999_999_999_999,
        9_999_999_999_999_999,
        100_000,                        // ordinary: seconds or ms from now, or 1970 as an absolute time
    ];

    [Fact]
    public void ExpiryCommands_BoundaryTimes_ReplyAndKeepConnectionAndKey()
    {
        using var raw = fixture.Server.ConnectRaw();
        var failures = new List<string>();
        var serial = 0;
        foreach (var form in Forms)
        {
            foreach (var amount in Amounts)
            {
                var key = $"expiry-boundary:{serial++}";
                var oldExpiry = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 3_600_000;
                Assert.Equal("+OK", raw.CallText("SET", key, "old", "PXAT", oldExpiry));
                var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                var (outcome, at) = Expect(form, amount, now);
                var what = $"{form.Name} {amount.ToString(CultureInfo.InvariantCulture)} (expected {outcome})";

                var reply = raw.CallText(form.Build(key, amount));
                var value = raw.CallText("GET", key);
                var pttl = Assert.IsType<long>(raw.Call("PTTL", key));
                switch (outcome)
                {
                    case Outcome.Invalid:
                        var command = form.Name.Split(' ')[0].ToLowerInvariant();
                        Check(reply == $"-ERR invalid expire time in '{command}' command", $"{what}: replied {reply}");
                        Check(value == "old", $"{what}: the value became {value}");
                        Check(Math.Abs(pttl - (oldExpiry - now)) < 60_000, $"{what}: the TTL became {pttl} ms");
                        break;
                    case Outcome.Past:
                        Check(reply == (form.SetRules ? (form.Writes ? "+OK" : "old") : ":1"), $"{what}: replied {reply}");
                        Check(value == "(nil)" && pttl == -2, $"{what}: the key is still there ({value}, PTTL {pttl})");
                        break;
                    case Outcome.Future:
                        Check(reply == (form.SetRules ? (form.Writes ? "+OK" : "old") : ":1"), $"{what}: replied {reply}");
                        Check(value == (form.Writes ? "new" : "old"), $"{what}: the value is {value}");
                        Check(Math.Abs(pttl - (at - now)) < 60_000, $"{what}: PTTL {pttl}, expected about {at - now}");
                        break;
                }

                Check(raw.CallText("PING") == "+PONG", $"{what}: the connection no longer answers");
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));

        void Check(bool ok, string message)
        {
            if (!ok)
            {
                failures.Add(message);
            }
        }
    }

    [Fact]
    public void Expire_MissingKeyAndHugeTime_InvalidNotZero()
    {
        // Redis checks the time before looking the key up.
        using var raw = fixture.Server.ConnectRaw();
        Assert.Equal("-ERR invalid expire time in 'expire' command", raw.CallText("EXPIRE", "expiry-boundary:missing", long.MaxValue));
        Assert.Equal(":0", raw.CallText("EXPIRE", "expiry-boundary:missing", 100));
        Assert.Equal("-ERR GT and LT options at the same time are not compatible", raw.CallText("EXPIRE", "expiry-boundary:missing", 100, "GT", "LT"));
        Assert.Equal("-ERR Unsupported option BOGUS", raw.CallText("EXPIRE", "expiry-boundary:missing", "soon", "BOGUS"));
    }

    /// <summary>The outcome by Redis's rules (t_string.c, expire.c), with the engine's bound of year 9999, in exact arithmetic.</summary>
    private static (Outcome Outcome, long AtUnixMs) Expect(Form form, long amount, long nowUnixMs)
    {
        if (form.SetRules && amount <= 0)
        {
            return (Outcome.Invalid, 0);
        }

        // Redis converts to ms, then adds now, refusing an overflow at either step (a negative sum is fine for EXPIRE).
        var ms = (BigInteger)amount * form.UnitMs;
        var at = ms + (form.Absolute ? 0 : nowUnixMs);
        if (ms < long.MinValue || ms > long.MaxValue || at > long.MaxValue || at > MaxExpiryUnixMs)
        {
            return (Outcome.Invalid, 0);
        }

        return at <= nowUnixMs ? (Outcome.Past, (long)at) : (Outcome.Future, (long)at);
    }
}
