# frozen_string_literal: true

require "digest"

# The C core behind Native::ToolRegistry: JSON Schema validation (core/schema.c), canonical JSON, fingerprints and
# the seen set (core/tools.c, core/json_tree.c), result capping.
RSpec.describe RubyLLM::AgentSDK::Native::ToolRegistry do
  native = RubyLLM::AgentSDK::Native

  # The problems reported for value (a JSON text when a String, else a Ruby value) against schema, without the
  # message's prefix.
  def problems(schema, value)
    registry = described_class.new([["t", JSON.generate(schema)]])
    message = registry.check("t", value.is_a?(String) ? value : JSON.generate(value))
    message&.delete_prefix('Invalid input for tool "t": ')
  end

  describe "validation, keyword by keyword" do
    {
      "type string" => [{ type: "string" }, '"a"', 1, "expected string, got integer"],
      "type integer (a number with a fraction is not one)" => [{ type: "integer" }, 3, "3.0", "expected integer, got number"],
      "type integer (nor with an exponent)" => [{ type: "integer" }, -7, "1e2", "expected integer, got number"],
      "type number" => [{ type: "number" }, "2.5", true, "expected number, got boolean"],
      "type boolean" => [{ type: "boolean" }, false, '"false"', "expected boolean, got string"],
      "type null" => [{ type: "null" }, nil, 0, "expected null, got integer"],
      "type array" => [{ type: "array" }, [], {}, "expected array, got object"],
      "type object" => [{ type: "object" }, {}, [], "expected object, got array"],
      "type union" => [{ type: %w[string null] }, nil, 1, "expected string or null, got integer"],
      "enum" => [{ enum: %w[a b] }, '"b"', '"c"', 'must be one of "a", "b"'],
      "enum of one" => [{ enum: ["only"] }, '"only"', '"other"', 'must be "only"'],
      "enum compares numbers by value" => [{ enum: [1, 2] }, "1.0", 3, "must be one of 1, 2"],
      "const" => [{ const: { "a" => [1] } }, '{"a":[1.0]}', { "a" => [2] }, 'must be {"a":[1]}'],
      "minimum" => [{ minimum: 1 }, 1, 0, "must be >= 1"],
      "maximum" => [{ maximum: 10 }, 10, "10.5", "must be <= 10"],
      "exclusiveMinimum" => [{ exclusiveMinimum: 0 }, "0.001", 0, "must be > 0"],
      "exclusiveMaximum" => [{ exclusiveMaximum: 100 }, 99, 100, "must be < 100"],
      "exclusiveMinimum, draft-4 boolean form" => [{ minimum: 0, exclusiveMinimum: true }, 1, 0, "must be > 0"],
      "minimum as written in the schema" => [{ minimum: 0.5 }, 0.5, 0.25, "must be >= 0.5"],
      "minLength counts code points" => [{ minLength: 3 }, '"añ€"', '"é€"', "must be at least 3 characters long"],
      "maxLength counts code points" => [{ maxLength: 2 }, '"😀😀"', '"abc"', "must be at most 2 characters long"],
      "maxLength of one" => [{ maxLength: 1 }, '"x"', '"xy"', "must be at most 1 character long"],
      "minItems" => [{ minItems: 1 }, [0], [], "must have at least 1 item"],
      "maxItems" => [{ maxItems: 2 }, [1, 2], [1, 2, 3], "must have at most 2 items"],
      "items" => [{ items: { type: "integer", minimum: 1 } }, [1, 2], [1, 2, 0], "[2]: must be >= 1"],
      "required" => [{ required: ["order_number"] }, { "order_number" => 1 }, {}, 'missing required property "order_number"'],
      "properties" => [{ properties: { "n" => { type: "string" } } }, { "n" => "x" }, { "n" => 5 }, "n: expected string, got integer"],
      "additionalProperties false" => [{ properties: { "a" => {} }, additionalProperties: false }, { "a" => 1 },
                                       { "a" => 1, "foo" => 2 }, 'unexpected property "foo"'],
      "additionalProperties schema" => [{ additionalProperties: { type: "integer" } }, { "x" => 1 }, { "x" => "s" },
                                        "x: expected integer, got string"],
      "false schema" => [{ properties: { "x" => false } }, { "y" => 1 }, { "x" => 1 }, "x: is not allowed"],
      "keywords apply to their own type only" => [{ minimum: 5, minItems: 5, required: ["a"] }, '"ab"', "true", nil]
    }.each do |name, (schema, good, bad, message)|
      it name do
        expect(problems(schema, good)).to be_nil
        expect(problems(schema, bad)).to eq(message)
      end
    end

    it "does not enforce pattern, format, patternProperties or combinators (documented)" do
      expect(problems({ pattern: "^a", format: "email" }, '"bcd"')).to be_nil
      expect(problems({ patternProperties: { "^x" => {} }, additionalProperties: false }, { "y" => 1 })).to be_nil
      expect(problems({ anyOf: [{ type: "string" }] }, 1)).to be_nil
    end
  end

  describe "messages" do
    let(:schema) do
      { type: "object", additionalProperties: false, required: %w[order_number customer],
        properties: { order_number: { type: "string" }, qty: { type: "integer", minimum: 1 },
                      items: { type: "array", items: { type: "integer", minimum: 1 }, maxItems: 3 },
                      customer: { type: "object", required: ["id"], additionalProperties: false,
                                  properties: { id: { type: "integer" }, tags: { type: "array", items: { type: "string" } } } } } }
    end

    it "reports every problem with its path, in one message" do
      input = { "order_number" => 1234, "qty" => 0, "items" => [1, 2, 0, 5], "foo" => true,
                "customer" => { "tags" => ["a", 2], "bar" => nil } }
      # Missing required properties first, then the members in key order.
      expect(problems(schema, input)).to eq(
        'customer: missing required property "id"; customer: unexpected property "bar"; ' \
        "customer.tags[1]: expected string, got integer; " \
        'unexpected property "foo"; items: must have at most 3 items; items[2]: must be >= 1; ' \
        "order_number: expected string, got integer; qty: must be >= 1"
      )
    end

    it "prefixes the tool name, and lists the tools for an unknown one" do
      registry = described_class.new([["lookup_order", JSON.generate(schema)], ["cancel_order", "{}"]])
      expect(registry.check("lookup_order", '{"customer":{"id":1}}'))
        .to eq('Invalid input for tool "lookup_order": missing required property "order_number"')
      expect(registry.check("lookup_ordr", "{}")).to eq('Unknown tool "lookup_ordr". Available tools: lookup_order, cancel_order')
      expect(described_class.new([]).check("x", "{}")).to eq('Unknown tool "x". No tools are available.')
      expect(registry.check("cancel_order", "{}")).to be_nil
    end

    it "quotes keys that are not plain names, and cuts long ones" do
      s = { properties: { "odd key" => { type: "string" }, "a\"b" => { type: "string" } } }
      expect(problems(s, { "odd key" => 1 })).to eq('["odd key"]: expected string, got integer')
      expect(problems(s, { "a\"b" => 1 })).to eq('["a\"b"]: expected string, got integer')
      long = "k" * 100
      expect(problems({ additionalProperties: false }, { long => 1 })).to eq(%(unexpected property "#{"k" * 64}…"))
    end

    it "spells out 20 problems and counts the rest" do
      input = (1..30).to_h { |i| ["p#{i}", i] }
      message = problems({ additionalProperties: false }, input)
      expect(message.split("; ").size).to eq(21)
      expect(message).to end_with("; … and 10 more problems")
    end

    it "says why an input is not JSON, too deep or not UTF-8" do
      expect(problems({}, "{")).to start_with("the input is invalid JSON")
      expect(problems({}, "{} {}")).to start_with("the input is invalid JSON")
      expect(problems({}, "{/*c*/}")).to start_with("the input is invalid JSON")
      expect(problems({}, "")).to start_with("the input is invalid JSON")
      expect(problems({}, "#{"[" * 65}#{"]" * 65}")).to eq("the input is nested more than 64 levels deep")
      expect(problems({}, "#{"[" * 64}#{"]" * 64}")).to be_nil
      expect(problems({}, "\"\xff\"".b)).to eq("the input is invalid UTF-8")
    end
  end

  describe "compiling schemas" do
    {
      { type: "strin" } => 'unknown type "strin"',
      { type: [] } => "type: must not be empty",
      { properties: { n: { minimum: "1" } } } => "properties.n.minimum: must be a number",
      { properties: [] } => "properties: must be an object of schemas",
      { required: "a" } => "required: must be an array of property names",
      { minLength: -1 } => "minLength: must be a non-negative integer",
      { maxItems: 1.5 } => "maxItems: must be a non-negative integer",
      { items: [{}] } => "items: the tuple form (an array of schemas) is not supported",
      { additionalProperties: 1 } => "additionalProperties: must be a boolean or a schema",
      { properties: { a: { properties: { b: 3 } } } } => "properties.a.properties.b: a schema must be an object or a boolean"
    }.each do |schema, error|
      it "rejects #{JSON.generate(schema)}" do
        expect { described_class.new([["t", JSON.generate(schema)]]) }
          .to raise_error(ArgumentError, "input schema of t: #{error}".sub("t: unknown", "t: type: unknown"))
      end
    end

    it "rejects text that is not a schema, bad names and a name given twice" do
      expect { described_class.new([["t", "[1]"]]) }.to raise_error(ArgumentError, /a schema must be an object or a boolean/)
      expect { described_class.new([["t", "{"]]) }.to raise_error(ArgumentError, /input schema of t: invalid JSON/)
      expect { described_class.new([["", "{}"]]) }.to raise_error(ArgumentError, /tool name must be/)
      expect { described_class.new([["a\nb", "{}"]]) }.to raise_error(ArgumentError, /tool name must be/)
      expect { described_class.new([%w[t {}], %w[t {}]]) }.to raise_error(ArgumentError, "tool t is registered twice")
      expect { described_class.new([["t"]]) }.to raise_error(ArgumentError, /expected \[name, input_schema_json\]/)
    end

    it "accepts the boolean schemas and unknown keywords" do
      expect(described_class.new([%w[a true], %w[b false], ["c", '{"x-extension":1,"$schema":"…"}']]).tool_names)
        .to eq(%w[a b c])
      registry = described_class.new([%w[a true], %w[b false]])
      expect(registry.check("a", "[1]")).to be_nil
      expect(registry.check("b", "{}")).to eq('Invalid input for tool "b": is not allowed')
    end
  end

  describe "canonical JSON and fingerprints" do
    subject(:registry) { described_class.new([]) }

    it "sorts keys at every level, drops whitespace, keeps numbers as written, re-escapes strings" do
      text = '{ "b" : [1, 2.50, -0, 1E5, "\u00e9\/\t\u0001\"\\\\"], "a": {"z": null, "y": true, "x": false} }'
      expect(registry.canonical(text)).to eq(%({"a":{"x":false,"y":true,"z":null},"b":[1,2.50,-0,1E5,"é/\\t\\u0001\\"\\\\"]}))
    end

    it "keeps the last value of a repeated key (as JSON.parse does)" do
      expect(registry.canonical('{"a":1,"b":2,"a":3}')).to eq('{"a":3,"b":2}')
      expect(JSON.parse('{"a":1,"b":2,"a":3}')).to eq("a" => 3, "b" => 2)
    end

    it "sorts keys bytewise (code point order)" do
      expect(registry.canonical('{"é":1,"z":2,"Z":3,"":4,"aa":5,"a":6}')).to eq('{"":4,"Z":3,"a":6,"aa":5,"z":2,"é":1}')
    end

    it "turns unpaired surrogate escapes into valid UTF-8" do
      out = registry.canonical('["\udc00", "\ud83d", "\ud83d\ude00"]')
      expect(out).to be_valid_encoding
      expect(out).to end_with(',"😀"]')
    end

    it "rejects what is not JSON" do
      expect { registry.canonical("{'a':1}") }.to raise_error(ArgumentError, /invalid JSON/)
      expect { registry.canonical("[1] x") }.to raise_error(ArgumentError, /invalid JSON/)
    end

    it "gives the same fingerprint for reordered keys, another for other values or another tool" do
      a = registry.fingerprint("lookup_order", '{"order_number":"ORD-1","include_items":true,"opts":{"x":1,"y":[1,2]}}')
      b = registry.fingerprint("lookup_order", '{ "opts": {"y": [1, 2], "x": 1}, "include_items": true, "order_number": "ORD-1" }')
      expect(a).to match(/\A\h{64}\z/)
      expect(b).to eq(a)
      expect(registry.fingerprint("lookup_order", '{"order_number":"ORD-2","include_items":true,"opts":{"x":1,"y":[1,2]}}')).not_to eq(a)
      expect(registry.fingerprint("lookup_order", '{"order_number":"ORD-1","include_items":true,"opts":{"x":1,"y":[2,1]}}')).not_to eq(a)
      expect(registry.fingerprint("cancel_order", '{"order_number":"ORD-1","include_items":true,"opts":{"x":1,"y":[1,2]}}')).not_to eq(a)
      canonical = '{"include_items":true,"opts":{"x":1,"y":[1,2]},"order_number":"ORD-1"}'
      expect(a).to eq(Digest::SHA256.hexdigest("lookup_order\0#{canonical}"))
    end

    it "remembers calls per registry: seen? records, forget un-records" do
      expect(registry.seen?("t", '{"a":1,"b":2}')).to be(false)
      expect(registry.seen?("t", '{"b":2, "a":1}')).to be(true)
      expect(registry.seen?("u", '{"a":1,"b":2}')).to be(false)
      expect(registry.forget("t", '{"a":1,"b":2}')).to be(true)
      expect(registry.forget("t", '{"a":1,"b":2}')).to be(false)
      expect(registry.seen?("t", '{"a":1,"b":2}')).to be(false)
      expect(described_class.new([]).seen?("t", '{"a":1,"b":2}')).to be(false)
      1000.times { |i| expect(registry.seen?("t", %({"i":#{i}}))).to be(false) }
      1000.times { |i| expect(registry.seen?("t", %({"i":#{i}}))).to be(true) }
    end
  end

  describe "Native.cap_result" do
    it "cuts at a UTF-8 boundary and says how much was shown" do
      expect(native.cap_result("héllo", 2)).to eq("h\n[truncated: showed 1 of 6 bytes]")
      expect(native.cap_result("héllo", 3)).to eq("hé\n[truncated: showed 3 of 6 bytes]")
      expect(native.cap_result("a😀b", 4)).to eq("a\n[truncated: showed 1 of 6 bytes]")
      expect(native.cap_result("a😀b", 5)).to eq("a😀\n[truncated: showed 5 of 6 bytes]")
      expect(native.cap_result("x" * 18_233, 4096)).to eq("#{"x" * 4096}\n[truncated: showed 4096 of 18233 bytes]")
    end

    it "returns the whole text when it fits, as a new UTF-8 String" do
      text = "fits".b
      out = native.cap_result(text, 4)
      expect(out).to eq("fits")
      expect(out.encoding).to eq(Encoding::UTF_8)
      expect(out).not_to equal(text)
      expect(native.cap_result("", 0)).to eq("")
      expect(native.cap_result("abc", 0)).to eq("\n[truncated: showed 0 of 3 bytes]")
      expect(native.cap_result("\xff\xfeabc".b, 3)).to be_valid_encoding
      expect { native.cap_result("abc", -1) }.to raise_error(ArgumentError, /non-negative/)
      expect { native.cap_result("abc", 1.5) }.to raise_error(ArgumentError, /non-negative/)
    end
  end
end
