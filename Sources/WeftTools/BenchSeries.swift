import Foundation

/// `weft bench --runs N [--against BUILD]`: several runs of one load, each on a fresh store and simulator, reported
/// as the median of each figure; with `--against`, another build's runs alternate with this one's (pair by pair, the
/// order swapped every other pair, since the machine's speed drifts within minutes), and the report counts the pairs
/// in which this build did better.
public struct BenchSeries: Encodable, Sendable {
    /// The runs of the build measured (`--executable`, or the running one), in the order they ran.
    public var runs: [Bench.Figures]
    /// Each figure's median over `runs`.
    public var median: Bench.Figures
    /// The build compared with (`--against`), if any.
    public var againstExecutable: String?
    public var againstRuns: [Bench.Figures]?
    public var againstMedian: Bench.Figures?
    /// With `--against`: for each compared figure, the pairs in which the measured build did better (a higher rate, a
    /// lower latency, CPU per event or memory).
    public var betterInPairs: [String: Int]?

    enum CodingKeys: String, CodingKey {
        case runs, median
        case againstExecutable = "against_executable"
        case againstRuns = "against_runs"
        case againstMedian = "against_median"
        case betterInPairs = "better_in_pairs"
    }

    public init(runs: [Bench.Figures], againstExecutable: String? = nil, against: [Bench.Figures]? = nil) {
        self.runs = runs
        median = Bench.Figures.median(of: runs)
        self.againstExecutable = againstExecutable
        againstRuns = against
        againstMedian = against.map(Bench.Figures.median(of:))
        betterInPairs = against.map { Self.betterInPairs(runs, than: $0) }
    }

    /// Which build runs first in pair `pair` (0-based): the measured one in even pairs, the other in odd ones.
    public static func measuredFirst(inPair pair: Int) -> Bool { pair % 2 == 0 }

    /// The figures compared pair by pair, with whether a higher value is better.
    static var compared: [(name: String, value: KeyPath<Bench.Figures, Double>, higherIsBetter: Bool)] {
        [
            ("e2e_per_s", \.endToEndPerSecond, true),
            ("ingest_per_s", \.ingestPerSecond, true),
            ("half_load_ack_p99_ms", \.halfLoadAckP99Ms, false),
            ("ack_p99_ms", \.ackP99Ms, false),
            ("serve_cpu_us_per_event", \.serveCPUMicrosPerEvent, false),
            ("odoo_cpu_us_per_event", \.odooCPUMicrosPerEvent, false),
            ("peak_rss_mb", \.peakRSSMegabytes, false),
        ]
    }

    /// For each compared figure, the pairs (`measured[i]` against `other[i]`) in which the measured build did better.
    static func betterInPairs(_ measured: [Bench.Figures], than other: [Bench.Figures]) -> [String: Int] {
        var counts: [String: Int] = [:]
        for (name, value, higherIsBetter) in compared {
            counts[name] =
                zip(measured, other).filter { mine, theirs in
                    higherIsBetter ? mine[keyPath: value] > theirs[keyPath: value] : mine[keyPath: value] < theirs[keyPath: value]
                }.count
        }
        return counts
    }

    /// The comparison as one line: `pairs=N better_e2e_per_s=k better_ingest_per_s=k …`, k of the N pairs.
    public var comparisonLine: String? {
        guard let betterInPairs else { return nil }
        return "pairs=\(runs.count) "
            + Self.compared.map { "better_\($0.name)=\(betterInPairs[$0.name] ?? 0)" }.joined(separator: " ")
    }
}

extension Bench.Figures {
    /// Each figure's median over `runs` (of one build and one load), taken figure by figure, so the result is no one
    /// run's line; an even count takes the mean of the middle two. Lookup failures are the most any run had, not the
    /// median: one failed lookup in any run is a failure. Descriptions (store, node configuration) are the first run's.
    public static func median(of runs: [Bench.Figures]) -> Bench.Figures {
        precondition(!runs.isEmpty, "the median of no runs")
        var result = runs[0]
        let rates: [WritableKeyPath<Bench.Figures, Double>] = [
            \.ingestPerSecond, \.ackP50Ms, \.ackP99Ms, \.halfLoadPerSecond, \.halfLoadAckP50Ms, \.halfLoadAckP99Ms,
            \.endToEndPerSecond, \.peakRSSMegabytes, \.serveCPUMicrosPerEvent, \.odooCPUMicrosPerEvent,
            \.harnessPeakRSSMegabytes, \.lookupsPerSecond, \.lookupP50Ms, \.lookupP99Ms, \.coldLookupsPerSecond,
            \.lookupSingleP50Ms, \.lookupSingleP99Ms, \.dealsToOrdersPerSecond, \.dealToOrderP50Ms, \.dealToOrderP99Ms,
        ]
        for figure in rates { result[keyPath: figure] = Self.median(runs.map { $0[keyPath: figure] }) }
        let counts: [WritableKeyPath<Bench.Figures, Int>] = [\.commandsDelivered, \.odooRequests]
        for figure in counts {
            result[keyPath: figure] = Int(Self.median(runs.map { Double($0[keyPath: figure]) }).rounded())
        }
        result.lookupFailures = runs.map(\.lookupFailures).max() ?? 0
        result.runs = runs.count
        return result
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}
