import Testing
import WeftSimChargebee

@Suite struct ChargebeeSimulatorTests {
    @Test func starts() {
        _ = ChargebeeSimulator()
    }
}
