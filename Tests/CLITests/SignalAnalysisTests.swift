import Foundation
import SignalAnalysis
import Testing

@Suite("Signal analysis of short and empty recordings", .timeLimit(.minutes(15)))
struct SignalAnalysisTests {
    private func sine(_ count: Int, frequency: Double = 1000, rate: Double = 48_000) -> [Float] {
        (0..<count).map { Float(0.5 * sin(2 * .pi * frequency * Double($0) / rate)) }
    }

    @Test("an empty recording is an error, not a trap")
    func empty() {
        #expect(SignalAnalysis.frequency([], rate: 48_000) == 0)
        #expect(SignalAnalysis.sineAmplitude([]) == 0)
        #expect(SignalAnalysis.steadyPart([], skip: 4_800, count: 48_000).isEmpty)
        #expect(SignalAnalysis.measureTone([], rate: 48_000) == .failure(.empty))
    }

    @Test("too short, silent or toneless input is an error; a negative length gives nothing")
    func tooShort() {
        #expect(SignalAnalysis.frequency([0.5], rate: 48_000) == 0)
        #expect(SignalAnalysis.measureTone([0.5], rate: 48_000) == .failure(.tooShort(count: 1, needed: 3)))
        #expect(SignalAnalysis.measureTone(sine(100), rate: 48_000, minimumCount: 48_000)
                == .failure(.tooShort(count: 100, needed: 48_000)))
        #expect(SignalAnalysis.measureTone([Float](repeating: 0.1, count: 1000), rate: 48_000) == .failure(.noTone))
        #expect(SignalAnalysis.steadyPart(sine(1000), skip: 10, count: -5).isEmpty)
    }

    @Test("a tone is measured")
    func tone() throws {
        let tone = try SignalAnalysis.measureTone(sine(48_000), rate: 48_000, minimumCount: 48_000).get()
        #expect(abs(tone.frequency - 1000) < 0.01)
        #expect(abs(tone.amplitude - 0.5) < 0.001)
    }
}
