import Testing

@Test func WeftStoreSQLiteTestsBuilds() {}
