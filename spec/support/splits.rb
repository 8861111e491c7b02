# frozen_string_literal: true

# Feeds an input whole, byte by byte and in 50 seeded random splits, and expects the same outcome each time.
# The seed is printed once per run; set SPLIT_SEED to replay a failure.
module Splits
  SEED = Integer(ENV.fetch("SPLIT_SEED") { Random.new_seed % (2**32) })
  RANDOM_SPLITS = 50

  def self.random_chunks(input, rng)
    cuts = Array.new(rng.rand(1..[input.bytesize, 40].min)) { rng.rand(0..input.bytesize) }.sort.uniq
    ([0] + cuts + [input.bytesize]).each_cons(2).map { |a, b| input.byteslice(a, b - a) }
  end

  # Yields arrays of chunks; returns the outcome of the whole input.
  def every_split(input, bytewise: true, &run)
    whole = run.call([input])
    expect(run.call(input.bytes.map(&:chr))).to eq(whole), "byte by byte" if bytewise
    rng = Random.new(SEED ^ input.bytesize)
    RANDOM_SPLITS.times do |i|
      chunks = Splits.random_chunks(input, rng)
      expect(run.call(chunks)).to eq(whole), "random split #{i} (SPLIT_SEED=#{SEED}): #{chunks.map(&:bytesize)}"
    end
    whole
  end
end

RSpec.configure do |config|
  config.before(:suite) { puts "Random feed splits: SPLIT_SEED=#{Splits::SEED}" }
end
