# frozen_string_literal: true

require "erb"

module RubyLLM
  module AgentSDK
    module Generators
      # How the agent_sdk generators write the app's files: a template is rendered with the generator's binding, and a
      # file already there is left alone when it is identical and reported as a conflict and kept when it differs
      # (--force overwrites it), so running a generator twice changes nothing the app edited.
      module FileWriting
        private

        def render(source)
          path = File.join(self.class.source_root, source)
          ERB.new(File.read(path), trim_mode: "-").tap { |erb| erb.filename = path }.result(binding)
        end

        # Thor's create_file says identical / create / force; a file that differs is a conflict, kept unless --force.
        def install_file(source, destination, content = render(source))
          path = File.expand_path(destination, destination_root)
          if File.exist?(path) && !options[:force] && File.binread(path) != content.b # bytes: a template with "…" is UTF-8
            say_status :conflict, "#{destination} differs from what #{self.class.namespace} writes: kept (--force " \
                                  "overwrites)", :red
            return
          end
          create_file destination, content
        end
      end
    end
  end
end
