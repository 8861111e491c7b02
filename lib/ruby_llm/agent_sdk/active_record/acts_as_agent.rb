# frozen_string_literal: true

require "bigdecimal"
require "digest"
require "fileutils"
require "json"
require "tmpdir"
require "yaml"

module RubyLLM
  module AgentSDK
    module ActiveRecord
      # Any ActiveRecord model as an agent (the Railtie extends ActiveRecord::Base with this module):
      #
      #   class SupportAgent < ApplicationRecord
      #     belongs_to :user
      #     acts_as_agent model: "claude-sonnet-4-5", instructions: "You answer Acme's support questions.",
      #                   tools: [LookupOrder], skills: "app/agents/support/skills", provider: :credentials
      #
      #     private
      #
      #     def credentials = { api_key: user.anthropic_key }
      #   end
      #
      #   agent = user.support_agents.create!
      #   agent.ask("Where is order 1042?") { |message| … }   # runs now; the next ask continues the conversation
      #   agent.ask_later("And the one before it?")            # RubyLLM::AgentSDK::ActiveJob::AskJob
      #
      # The record's state column (default agent_state, json) holds its conversation, per transport:
      #   {"api" => {"session_id" => "…", "lines" => [stream-json lines]}, "cli" => {"session_id" => "…"}, "result" => "…"}
      # :api keeps the whole transcript in the column (redacted, as every session store does) and sends it again on
      # the next ask; :cli keeps the CLI's session id and resumes it (the CLI keeps the transcript under its HOME).
      # Token totals go to whichever of input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens,
      # total_cost_usd and num_turns the table has.
      module ActsAsAgent
        TOTAL_COLUMNS = { "input_tokens" => "input_tokens", "output_tokens" => "output_tokens",
                          "cache_read_tokens" => "cache_read_input_tokens",
                          "cache_creation_tokens" => "cache_creation_input_tokens" }.freeze
        PROVIDER_KEYS = %i[api_key base_url provider].freeze

        # The declaration, frozen: what every ask of this model starts from.
        Definition = Struct.new(:model, :instructions, :tools, :skills, :provider, :transport, :state_column,
                                :options, keyword_init: true)

        # Declares this model an agent. model:, transport:, tools: and options: (any other query option) are the
        # query's; instructions: is its system prompt (a String, a method name, or a proc run on the record);
        # skills: directories (relative to Rails.root) holding one directory per skill, each with a SKILL.md;
        # provider: a method name (or proc) returning the record's credentials, { api_key:, base_url:, provider: }
        # (and any other query option); state: the json column of the conversation.
        def acts_as_agent(model: nil, instructions: nil, tools: [], skills: [], provider: nil, transport: nil,
                          state: :agent_state, options: {})
          definition = Definition.new(model: model, instructions: instructions, tools: Array(tools).freeze,
                                      skills: Array(skills).map(&:to_s).freeze, provider: provider,
                                      transport: transport&.to_sym, state_column: state.to_s,
                                      options: options.to_h.transform_keys(&:to_sym).freeze).freeze
          class_attribute :agent_definition, instance_writer: false, default: definition
          include AgentMethods
        end

        # One skill: the front matter's name and description, the body after it, and the directory it came from.
        Skill = Struct.new(:name, :description, :body, :directory, keyword_init: true)

        # The skills under these directories: each directory holding a SKILL.md is one skill, and a directory of
        # such directories is several (sorted by name).
        def self.skills(roots)
          roots.flat_map do |root|
            path = expand(root)
            raise ArgumentError, "acts_as_agent skills: no directory #{path}" unless File.directory?(path)

            dirs = File.file?(File.join(path, "SKILL.md")) ? [path] : Dir.glob(File.join(path, "*", "SKILL.md")).map { |f| File.dirname(f) }
            dirs.sort.map { |dir| read_skill(dir) }
          end.tap do |skills|
            twice = skills.group_by(&:name).select { |_, same| same.size > 1 }.keys
            raise ArgumentError, "acts_as_agent skills: more than one skill named #{twice.join(", ")}" unless twice.empty?
          end
        end

        def self.read_skill(dir)
          text = File.read(File.join(dir, "SKILL.md"))
          meta = {}
          if (match = text.match(/\A---\s*\n(.*?)\n---\s*(?:\n|\z)/m))
            begin
              meta = YAML.safe_load(match[1]) || {}
            rescue Psych::Exception => e
              raise ArgumentError, "#{File.join(dir, "SKILL.md")}: its front matter is not YAML (#{e.message})"
            end
            meta = {} unless meta.is_a?(Hash)
            text = match.post_match
          end
          Skill.new(name: (meta["name"] || File.basename(dir)).to_s, description: meta["description"].to_s,
                    body: text.strip, directory: dir)
        end

        # The app's tmp/agent_sdk/skills (a directory only the app writes), else one per user in Dir.tmpdir.
        def self.cli_skills_root
          if defined?(::Rails) && ::Rails.respond_to?(:root) && ::Rails.root
            File.join(::Rails.root.to_s, "tmp", "agent_sdk", "skills")
          else
            File.join(Dir.tmpdir, "agent_sdk_skills-#{Process.uid}")
          end
        end

        def self.expand(path)
          base = defined?(::Rails) && ::Rails.respond_to?(:root) && ::Rails.root ? ::Rails.root.to_s : Dir.pwd
          File.expand_path(path, base)
        end
        private_class_method :read_skill, :expand, :cli_skills_root

        # The skills as the :api system prompt carries them: each one's name, description and whole body.
        def self.skills_prompt(skills)
          return nil if skills.empty?

          parts = skills.map do |skill|
            "<skill name=\"#{skill.name}\">\n#{"Description: #{skill.description}\n\n" unless skill.description.empty?}" \
              "#{skill.body}\n</skill>"
          end
          "# Skills\n\nUse the skill that fits the request and follow its instructions.\n\n#{parts.join("\n\n")}"
        end

        # The skills as Claude Code finds them: a directory whose .claude/skills/<name>/ are copies of the skill
        # directories, passed to the CLI with --add-dir. Named by a digest of the skills' files, so it is built once
        # per version of them (under the app's tmp/agent_sdk/skills) and two agent kinds never share one.
        def self.cli_skills_dir(skills)
          files = skills.flat_map do |skill|
            Dir.glob(File.join(skill.directory, "**", "*"), File::FNM_DOTMATCH).select { |f| File.file?(f) }.sort
               .map { |f| [skill.name, f.delete_prefix(skill.directory), Digest::SHA256.file(f).hexdigest] }
          end
          digest = Digest::SHA256.hexdigest(JSON.generate(files))[0, 24]
          dir = File.join(cli_skills_root, digest)
          return dir if File.directory?(dir)

          building = "#{dir}.#{Process.pid}.#{Thread.current.object_id}"
          skills.each do |skill|
            target = File.join(building, ".claude", "skills", skill.name.gsub(/[^A-Za-z0-9_.-]/, "-"))
            FileUtils.mkdir_p(File.dirname(target))
            FileUtils.cp_r(skill.directory, target)
          end
          begin
            File.rename(building, dir)
          rescue SystemCallError
            FileUtils.rm_rf(building) # another process built it first
          end
          dir
        end
      end

      # What acts_as_agent adds to the record.
      module AgentMethods
        # What the CLI prints when asked to resume a session it has no transcript of.
        CLI_NO_SESSION = "No conversation found with session ID"

        # Runs the agent now on this record's conversation: yields each Message as it streams, stores the
        # conversation and the totals (also when the run fails or raises), and returns the result Message (nil if the
        # stream ended without one). The state's "result" is the result's text, cleared by an ask that failed (an error
        # result, an exception). Any query option given here wins over the declaration's.
        def ask(prompt, **overrides, &block)
          raise ArgumentError, "ask needs a prompt" unless prompt.is_a?(String) && !prompt.strip.empty?

          save! if new_record?
          options = agent_options(overrides)
          transport = options.transport.to_s
          state = agent_read_state
          conversation = (state[transport] ||= {})
          store = nil
          if options.transport == :api
            store = StateStore.new(conversation, secrets: [options.resolved_api_key])
            options = options.with(session_store: store)
          end
          session_id = conversation["session_id"]
          options = options.with(resume: session_id) if session_id && (store.nil? || store.lines(session_id))
          result = nil
          begin
            Query.new(prompt, options).each do |message|
              conversation["session_id"] = message.session_id if message.init? && message.session_id
              result = message if message.result?
              block&.call(message)
            end
          rescue ProcessError => e
            # A CLI without this session's transcript (another machine, another HOME) refuses to resume it before it
            # answers anything: the conversation starts again there.
            raise unless options.transport == :cli && options.resume && e.message.include?(CLI_NO_SESSION)

            AgentSDK.logger.info("agent_sdk: #{self.class.name} #{id}: the CLI has no session #{options.resume}; " \
                                 "starting a new conversation")
            conversation.delete("session_id")
            options = options.with(resume: nil)
            retry
          end
          result
        ensure
          agent_save(state, result) if state
        end

        # Runs ask(prompt) in RubyLLM::AgentSDK::ActiveJob::AskJob (on config.agent_sdk's queue). Returns the job.
        def ask_later(prompt)
          raise ArgumentError, "ask_later needs a prompt" if prompt.to_s.strip.empty?

          save! if new_record?
          AgentSDK::ActiveJob::AskJob.perform_later(self, prompt.to_s)
        end

        # The conversation state column, as a Hash (empty for a new agent).
        def agent_state_hash
          column = agent_definition.state_column
          unless has_attribute?(column)
            raise ArgumentError, "#{self.class.name} has no #{column} column for its agent state (acts_as_agent state:)"
          end

          value = self[column]
          value = JSON.parse(value) if value.is_a?(String) && !value.empty?
          value.is_a?(Hash) ? value.deep_dup : {}
        end

        # The last ask's result text.
        def agent_result
          agent_state_hash["result"]
        end

        # Forgets the conversation (the next ask starts a new one); the totals stay.
        def reset_agent!
          update_columns(agent_definition.state_column => agent_state_value({}))
        end

        # This record's skills (read from disk on each ask, so a changed SKILL.md is seen by the next one).
        def agent_skills
          ActsAsAgent.skills(agent_definition.skills)
        end

        # The query options of one ask: config.agent_sdk's, then the declaration's, the provider's and the given
        # ones (a given option wins over the provider's credential of the same name).
        def agent_options(overrides = {})
          definition = agent_definition
          overrides = overrides.to_h.transform_keys(&:to_sym)
          given = definition.options.dup
          given[:model] = definition.model if definition.model
          given[:transport] = definition.transport if definition.transport
          given[:tools] = definition.tools unless definition.tools.empty?
          options = Options.build(**given, **overrides)
          options = agent_with_provider(options, overrides) if definition.provider
          skills = definition.skills.empty? ? [] : agent_skills
          prompt = [agent_instructions, (ActsAsAgent.skills_prompt(skills) if options.transport == :api)].compact
          options = options.with(system_prompt: prompt.join("\n\n")) unless prompt.empty? || overrides.key?(:system_prompt)
          if options.transport == :cli && !skills.empty?
            options = options.with(add_dirs: [*options.add_dirs, ActsAsAgent.cli_skills_dir(skills)])
          end
          options
        end

        private

        def agent_instructions
          value = agent_definition.instructions
          value = send(value) if value.is_a?(Symbol)
          value = instance_exec(&value) if value.respond_to?(:call)
          value&.to_s&.then { |text| text.strip.empty? ? nil : text }
        end

        # The provider method's credentials: :api options as they are; under :cli the key and URL become the CLI's
        # ANTHROPIC_API_KEY / ANTHROPIC_BASE_URL (it speaks only to Anthropic-compatible APIs).
        def agent_with_provider(options, overrides)
          source = agent_definition.provider
          creds = source.respond_to?(:call) ? instance_exec(&source) : send(source)
          creds = creds.to_h.transform_keys(&:to_sym).compact.except(*overrides.keys)
          return creds.empty? ? options : options.with(**creds) if options.transport == :api

          if creds[:provider] && creds[:provider].to_sym != :anthropic
            raise ArgumentError, "provider #{creds[:provider].inspect} needs transport: :api (the CLI speaks to Anthropic)"
          end

          given_env = overrides[:env].to_h.transform_keys(&:to_s)
          env = options.env.dup
          { "ANTHROPIC_API_KEY" => creds[:api_key], "ANTHROPIC_BASE_URL" => creds[:base_url] }.each do |name, value|
            env[name] = value.to_s if value && !given_env.key?(name)
          end
          options.with(env: env, **creds.except(*ActsAsAgent::PROVIDER_KEYS))
        end

        # The state as the database has it now (another instance of the record may have asked since this one was
        # loaded), also set on this instance.
        def agent_read_state
          agent_state_hash # (names a missing column first)
          column = agent_definition.state_column
          self[column] = self.class.unscoped.where(self.class.primary_key => id).pick(column)
          clear_attribute_changes([column])
          agent_state_hash
        end

        # The state (one UPDATE, no validations or callbacks: an ask changes nothing else) and the totals, added in
        # SQL so that asks of two instances of the record, or two workers, all count.
        def agent_save(state, result)
          column = agent_definition.state_column
          state = state.merge("result" => (result.content if result && !result.error?)).compact
          changes = { column => agent_state_value(state) }
          changes["updated_at"] = Time.current if has_attribute?("updated_at")
          increments = result ? agent_increments(result) : {}
          self.class.transaction do
            update_columns(changes)
            next if increments.empty?

            self.class.update_counters(id, increments)
            values = self.class.unscoped.where(self.class.primary_key => id).pick(*increments.keys)
            increments.keys.zip(increments.size == 1 ? [values] : values).each { |name, value| self[name] = value }
            clear_attribute_changes(increments.keys)
          end
        end

        # A json/jsonb column takes the Hash; a text one its JSON.
        def agent_state_value(state)
          %i[json jsonb].include?(type_for_attribute(agent_definition.state_column).type) ? state : JSON.generate(state)
        end

        def agent_increments(result)
          usage = result.usage || {}
          increments = {}
          ActsAsAgent::TOTAL_COLUMNS.each do |column, key|
            increments[column] = usage[key].to_i if has_attribute?(column) && usage[key].to_i.positive?
          end
          increments["num_turns"] = result.num_turns.to_i if has_attribute?("num_turns") && result.num_turns.to_i.positive?
          cost = agent_cost(result)
          increments["total_cost_usd"] = cost if cost&.positive? && has_attribute?("total_cost_usd")
          increments
        end

        # :api results carry integer micro-dollars; the CLI's a Float of USD.
        def agent_cost(result)
          micros = result["total_cost_micros"]
          return BigDecimal(micros) / 1_000_000 if micros.is_a?(Integer)

          result.total_cost_usd && BigDecimal(result.total_cost_usd.to_s)
        end
      end

      # The :api session store of one agent record's conversation: the stream-json lines live in the state Hash
      # (saved to the column when the ask ends), redacted as SessionStore::Memory does, plus the run's own API key.
      class StateStore
        def initialize(conversation, secrets: [])
          @conversation = conversation
          @secrets = secrets.compact.map(&:to_s).select { |s| s.length >= 8 }
        end

        def append(session_id, line)
          line = Redaction.text(line)
          @secrets.each { |secret| line = line.gsub(secret, Redaction::MARK) }
          if @conversation["session_id"] != session_id.to_s
            @conversation["session_id"] = session_id.to_s
            @conversation["lines"] = []
          end
          (@conversation["lines"] ||= []) << line
          nil
        end

        def lines(session_id)
          return nil unless @conversation["session_id"] == session_id.to_s

          lines = @conversation["lines"]
          lines.is_a?(Array) && !lines.empty? ? lines.dup : nil
        end
      end
    end
  end
end
