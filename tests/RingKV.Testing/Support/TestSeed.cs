using System;
using System.Globalization;

namespace RingKV.Testing.Support;

/// <summary>Seeds for randomized tests: from RINGKV_SEED when set, else drawn and printed so a failure replays.</summary>
public static class TestSeed
{
    public static int Get(string testName)
    {
        var env = Environment.GetEnvironmentVariable("RINGKV_SEED");
        var seed = env is not null ? int.Parse(env, CultureInfo.InvariantCulture) : Random.Shared.Next();
        Console.WriteLine($"{testName}: RINGKV_SEED={seed}");
        return seed;
    }
}
