# frozen_string_literal: true

require "json"

module RubyLLM
  module AgentSDK
    # A tool the model can call, written in Ruby. Subclass, describe the input, define #call:
    #
    #   class LookupOrder < RubyLLM::AgentSDK::Tool
    #     description "Look up an order by its number"
    #     param :order_number, :string, required: true, description: "e.g. ORD-1234"
    #     param :include_items, :boolean
    #     timeout 5
    #     def permitted?(context) = context[:user].support_agent?
    #     def call(order_number:, include_items: false) = Order.find_by!(number: order_number).as_json
    #   end
    #
    # The input is validated against the schema (in C) before #call runs, so #call gets exactly the declared
    # keywords (top-level keys as Symbols). An instance is made per call with the run's context. Mistakes in
    # the class body raise ArgumentError as the class is defined.
    class Tool
      TYPES = %i[string integer number boolean array object].freeze
      NAME_FORMAT = /\A[a-zA-Z0-9_-]{1,64}\z/.freeze
      PARAM_FORMAT = /\A[a-z_][a-zA-Z0-9_]{0,63}\z/.freeze

      class << self
        # The text the model reads to decide when to call the tool.
        def description(text = nil)
          return @description || (superclass.description if superclass <= Tool) if text.nil?
          raise ArgumentError, "#{self}: description must be a non-empty String" unless text.is_a?(String) && !text.strip.empty?

          @description = text.dup.freeze
        end

        # The name the model calls: by default the class name's last part, underscored, without a "_tool" suffix
        # (Admin::LookupOrderTool → "lookup_order").
        def tool_name(name = nil)
          if name.nil?
            return @tool_name if @tool_name

            class_name = self.name or raise ArgumentError, "#{inspect} is anonymous: give it a tool_name"
            return @derived_name[1] if @derived_name && @derived_name[0] == class_name

            derived = class_name.split("::").last.gsub(/([A-Z\d]+)([A-Z][a-z])/, '\1_\2')
                                .gsub(/([a-z\d])([A-Z])/, '\1_\2').downcase.delete_suffix("_tool")
            @derived_name = [class_name, (derived.empty? ? "tool" : derived).freeze]
            return @derived_name[1]
          end
          name = name.to_s
          raise ArgumentError, "#{self}: tool_name must match #{NAME_FORMAT.inspect}, got #{name.inspect}" unless name.match?(NAME_FORMAT)

          @tool_name = name.freeze
        end

        # Seconds one call may take before it is stopped (default: the runner's default_timeout / tool_timeout:).
        def timeout(seconds = nil)
          return @timeout || (superclass.timeout if superclass <= Tool) if seconds.nil?
          unless seconds.is_a?(Numeric) && seconds.real? && seconds.positive? && seconds.finite?
            raise ArgumentError, "#{self}: timeout must be a positive number of seconds, got #{seconds.inspect}"
          end

          @timeout = seconds
        end

        # Marks the tool as acting on the world (a refund, an email, a write elsewhere). With an execution store
        # (`tool_executions:`; the Rails job passes one over agent_tool_executions) each call is recorded before it
        # runs and is never run twice for the same key: a finished call's recorded result is given to the model again,
        # and a call that started and never finished (the worker died inside it) comes back as an is_error result
        # saying its outcome is unknown. The key defaults to the tool's name and its canonical input; the store adds
        # its own scope (the session).
        def side_effect!
          @side_effect = true
        end

        def side_effect?
          @side_effect || (superclass < Tool && superclass.side_effect?) || false
        end

        # Calls of this tool wait for a person: `requires_approval` (every call) or with a predicate
        # `requires_approval { |input, context| input["amount_cents"] > 10_000 }` (input with String keys). A call
        # that needs approval is not run: the run pauses (ApprovalRequired; in Rails the session becomes
        # awaiting_approval) until approve! / reject! decide it. A predicate that raises counts as "needs approval".
        def requires_approval(&predicate)
          @requires_approval = predicate || true
        end

        # Whether this call, with this input and context, waits for a decision.
        def requires_approval?(input = {}, context = nil)
          rule = @requires_approval
          return superclass < Tool && superclass.requires_approval?(input, context) if rule.nil?
          return true if rule == true

          rule.call(input, context) ? true : false
        rescue StandardError
          true # fail closed
        end

        # idempotency_key { |input, context| "refund:#{input['order_number']}" } — the key calls are told apart by.
        def idempotency_key(&block)
          return @idempotency_key || (superclass.idempotency_key if superclass < Tool) unless block

          @idempotency_key = block
        end

        # Declares one input property. type: one of TYPES. Constraints apply to their type only (a mismatch
        # raises): enum (any type), minimum/maximum (integer, number), min_length/max_length/pattern (string),
        # items/min_items/max_items (array; items is a type Symbol or a JSON schema Hash).
        # `pattern` is shown to the model but not enforced by the validator.
        def param(name, type, required: false, description: nil, enum: nil, items: nil, minimum: nil, maximum: nil,
                  min_length: nil, max_length: nil, min_items: nil, max_items: nil, pattern: nil)
          raise ArgumentError, "#{self}: use either param or input_schema, not both" if @raw_schema

          key = name.to_s
          where = "#{self}.param #{name.inspect}"
          unless (name.is_a?(Symbol) || name.is_a?(String)) && key.match?(PARAM_FORMAT)
            raise ArgumentError, "#{where}: a param name is a Symbol like :order_number (#{PARAM_FORMAT.inspect})"
          end
          raise ArgumentError, "#{where}: defined twice" if own_params.key?(key)
          raise ArgumentError, "#{where}: required: must be true or false" unless [true, false].include?(required)

          type_sym = type.respond_to?(:to_sym) ? type.to_sym : type
          raise ArgumentError, "#{where}: unknown type #{type.inspect}; valid: #{TYPES.join(", ")}" unless TYPES.include?(type_sym)

          schema = Schema.build(where, type_sym, description: description, enum: enum, items: items,
                                                 minimum: minimum, maximum: maximum, min_length: min_length,
                                                 max_length: max_length, min_items: min_items, max_items: max_items,
                                                 pattern: pattern)
          own_params[key] = [schema, required]
          @input_schema = nil
          nil
        end

        # The JSON schema of the input (String keys): built from the params (additionalProperties false), or
        # given whole with input_schema({...}) instead of params (its "type" must be "object").
        def input_schema(schema = nil)
          return @input_schema ||= (@raw_schema || Schema.from_params(all_params)) if schema.nil?
          raise ArgumentError, "#{self}: use either param or input_schema, not both" unless all_params.empty?

          @raw_schema = Schema.raw(self, schema)
          @input_schema = nil
          @raw_schema
        end

        # {"name", "description", "input_schema"} as the Messages API takes it (no "description" when none is set).
        def definition
          { "name" => tool_name, "description" => description, "input_schema" => input_schema }.compact
        end

        private

        def own_params
          @own_params ||= {}
        end

        def all_params
          inherited_params = superclass <= Tool ? superclass.send(:all_params) : {}
          inherited_params.merge(own_params)
        end

        def inherited(subclass)
          super
          # A subclass with its own params starts from the parent's raw schema only if it declares none.
          subclass.instance_variable_set(:@raw_schema, @raw_schema) if @raw_schema
        end
      end

      attr_reader :context

      def initialize(context = nil)
        @context = context
      end

      # Whether this call may run for this context (false: the model gets "not permitted" as an error).
      def permitted?(_context)
        true
      end

      def call(**_input)
        raise NotImplementedError, "#{self.class} must define #call"
      end

      # Builds and checks the JSON schemas of Tool classes.
      module Schema
        JSON_TYPES = { string: String, integer: Integer, number: Numeric, boolean: [TrueClass, FalseClass],
                       array: Array, object: Hash }.freeze

        module_function

        def build(where, type, description:, enum:, items:, minimum:, maximum:, min_length:, max_length:, min_items:,
                  max_items:, pattern:)
          schema = { "type" => type.to_s }
          if description
            raise ArgumentError, "#{where}: description must be a String" unless description.is_a?(String)

            schema["description"] = description
          end
          schema["enum"] = enum_values(where, type, enum) unless enum.nil?
          only(where, type, %i[integer number], minimum: minimum, maximum: maximum)
          only(where, type, %i[string], min_length: min_length, max_length: max_length, pattern: pattern)
          only(where, type, %i[array], items: items, min_items: min_items, max_items: max_items)
          bounds(where, schema, "minimum", minimum, "maximum", maximum) { |v| v.is_a?(Numeric) && v.real? && v.finite? }
          bounds(where, schema, "minLength", min_length, "maxLength", max_length) { |v| v.is_a?(Integer) && v >= 0 }
          bounds(where, schema, "minItems", min_items, "maxItems", max_items) { |v| v.is_a?(Integer) && v >= 0 }
          schema["pattern"] = pattern_source(where, pattern) if pattern
          schema["items"] = items_schema(where, items) if items
          check_compiles(where, { "type" => "object", "properties" => { "p" => schema } })
          deep_freeze(schema)
        end

        def from_params(params)
          schema = { "type" => "object", "properties" => params.transform_values(&:first) }
          required = params.select { |_, (_, req)| req }.keys
          schema["required"] = required unless required.empty?
          schema["additionalProperties"] = false
          deep_freeze(schema)
        end

        def raw(klass, schema)
          raise ArgumentError, "#{klass}.input_schema: expected a Hash (a JSON schema), got #{schema.class}" unless schema.is_a?(Hash)

          normalized = begin
            JSON.parse(JSON.generate(schema))
          rescue JSON::GeneratorError, JSON::ParserError => e
            raise ArgumentError, "#{klass}.input_schema: not representable as JSON (#{e.message})"
          end
          unless normalized["type"] == "object"
            raise ArgumentError, "#{klass}.input_schema: a tool's input schema must have \"type\": \"object\""
          end

          check_compiles("#{klass}.input_schema", normalized)
          deep_freeze(normalized)
        end

        def check_compiles(where, schema)
          Native::ToolRegistry.new([["t", JSON.generate(schema)]])
        rescue ArgumentError => e
          raise ArgumentError, "#{where}: #{e.message.sub(/\Ainput schema of t: /, "")}"
        end

        def only(where, type, types, **given)
          given.each do |key, value|
            next if value.nil? || types.include?(type)

            raise ArgumentError, "#{where}: #{key}: applies to #{types.join(" and ")} params, not #{type}"
          end
        end

        def bounds(where, schema, min_key, min, max_key, max, &valid)
          [[min_key, min], [max_key, max]].each do |key, value|
            next if value.nil?
            raise ArgumentError, "#{where}: #{key} has an invalid value #{value.inspect}" unless valid.call(value)

            schema[key] = value
          end
          raise ArgumentError, "#{where}: #{min_key} (#{min}) is greater than #{max_key} (#{max})" if min && max && min > max
        end

        def enum_values(where, type, enum)
          raise ArgumentError, "#{where}: enum must be a non-empty Array" unless enum.is_a?(Array) && !enum.empty?

          values = enum.map { |v| v.is_a?(Symbol) ? v.to_s : v }
          bad = values.reject { |v| Array(JSON_TYPES.fetch(type)).any? { |k| v.is_a?(k) } }
          bad = values.reject { |v| v.is_a?(Integer) || (v.is_a?(Float) && v.finite? && v == v.floor) } if type == :integer
          raise ArgumentError, "#{where}: enum values #{bad.inspect} are not #{type}s" unless bad.empty?

          JSON.parse(JSON.generate(values))
        end

        def pattern_source(where, pattern)
          return pattern.source if pattern.is_a?(Regexp)
          return pattern if pattern.is_a?(String)

          raise ArgumentError, "#{where}: pattern must be a String or a Regexp"
        end

        def items_schema(where, items)
          case items
          when Symbol, String
            raise ArgumentError, "#{where}: items: unknown type #{items.inspect}; valid: #{TYPES.join(", ")}" unless TYPES.include?(items.to_sym)

            { "type" => items.to_s }
          when Hash then JSON.parse(JSON.generate(items))
          else raise ArgumentError, "#{where}: items must be a type Symbol or a JSON schema Hash"
          end
        end

        def deep_freeze(value)
          case value
          when Hash then value.each_value { |v| deep_freeze(v) }
          when Array then value.each { |v| deep_freeze(v) }
          end
          value.freeze
        end
      end
      private_constant :Schema
    end
  end
end
