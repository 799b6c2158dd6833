using System;
using System.Diagnostics;

namespace RingKV.Bench;

/// <summary>Draws items in [0, n) with a Zipfian distribution: YCSB's <c>ZipfianGenerator</c> (Gray et al., "Quickly generating billion-record synthetic databases").</summary>
/// <remarks>
/// Item 0 is the most popular. YCSB's default additionally scrambles items with a hash so the hot ones are
/// spread over the key space; here keys are placed by their token (a hash) in both engines anyway, so the
/// hot records already land in unrelated blocks and no scrambling is needed. Construction costs O(n) pow calls
/// (zeta); each draw is O(1) and allocation-free. Not thread-safe only through its <see cref="BenchRandom"/>:
/// the generator itself is immutable after construction and may be shared.
/// </remarks>
internal sealed class ZipfianGenerator
{
    /// <summary>YCSB's default skew.</summary>
    public const double DefaultTheta = 0.99;

    private readonly long _items;
    private readonly double _theta;
    private readonly double _zetaN;
    private readonly double _alpha;
    private readonly double _eta;
    private readonly double _halfPowTheta;

    /// <summary>Prepares draws over [0, <paramref name="items"/>). Requires: items &gt; 0, 0 &lt; theta &lt; 1.</summary>
    public ZipfianGenerator(long items, double theta = DefaultTheta)
    {
        Debug.Assert(items > 0 && theta is > 0 and < 1);
        _items = items;
        _theta = theta;
        _zetaN = Zeta(items, theta);
        var zeta2Theta = Zeta(2, theta);
        _alpha = 1.0 / (1.0 - theta);
        _eta = (1 - Math.Pow(2.0 / items, 1 - theta)) / (1 - (zeta2Theta / _zetaN));
        _halfPowTheta = 1 + Math.Pow(0.5, theta);
    }

    /// <summary>The next item, in [0, n).</summary>
    public long Next(BenchRandom random)
    {
        var u = random.NextDouble();
        var uz = u * _zetaN;
        if (uz < 1.0)
        {
            return 0;
        }

        if (uz < _halfPowTheta)
        {
            return Math.Min(1, _items - 1);
        }

        var item = (long)(_items * Math.Pow((_eta * u) - _eta + 1, _alpha));
        return Math.Min(item, _items - 1);
    }

    /// <summary>The probability of item 0, for the progress log.</summary>
    public double TopProbability => 1.0 / _zetaN;

    /// <summary>Theta, for the progress log.</summary>
    public double Theta => _theta;

    private static double Zeta(long n, double theta)
    {
        var sum = 0.0;
        for (long i = 1; i <= n; i++)
        {
            sum += 1.0 / Math.Pow(i, theta);
        }

        return sum;
    }
}
