# frozen_string_literal: true

require "zlib"

module RubyLLM
  module AgentSDK
    module Testing
      class FakeServer
        # Deterministic embeddings for POST /v1/embeddings: a hashed bag of words in `dimensions` slots, L2-normalised,
        # so texts that share words are near each other (cosine) and a text always gets the same vector.
        #
        #   Embeddings.vector("refund policy", 8)  # => [0.0, 0.707…, 0.0, …]
        module Embeddings
          DEFAULT_DIMENSIONS = 64
          WORD = /[[:alnum:]]+/.freeze

          module_function

          # The unit vector of `text`: each lowercased word adds ±1 at a slot picked by its CRC32 (the sign from a
          # higher bit, so unrelated words cancel as often as they add). A text with no word gets the first axis.
          def vector(text, dimensions = DEFAULT_DIMENSIONS)
            out = Array.new(dimensions, 0.0)
            text.to_s.downcase.scan(WORD) do |word|
              h = Zlib.crc32(word)
              out[h % dimensions] += (h >> 31).zero? ? 1.0 : -1.0
            end
            norm = Math.sqrt(out.sum { |v| v * v })
            return out.tap { |o| o[0] = 1.0 } if norm.zero?

            out.map { |v| v / norm }
          end

          # [status, body] for one request body (a Hash): OpenAI's shape, or its error shape with status 400.
          def response(body, dimensions)
            input = body["input"]
            texts = input.is_a?(String) ? [input] : input
            unless texts.is_a?(Array) && !texts.empty? && texts.all?(String)
              return [400, error("input must be a string or a non-empty array of strings")]
            end

            dims = body.key?("dimensions") ? body["dimensions"] : dimensions
            return [400, error("dimensions must be a positive integer")] unless dims.is_a?(Integer) && dims.positive?

            tokens = texts.sum { |t| t.scan(WORD).size }
            [200, { object: "list", model: body["model"] || "fake-embedding",
                    data: texts.each_with_index.map { |t, i| { object: "embedding", index: i, embedding: vector(t, dims) } },
                    usage: { prompt_tokens: tokens, total_tokens: tokens } }]
          end

          def error(message)
            { error: { message: "fake server: #{message}", type: "invalid_request_error", param: "input", code: nil } }
          end
          private_class_method :error
        end
      end
    end
  end
end
