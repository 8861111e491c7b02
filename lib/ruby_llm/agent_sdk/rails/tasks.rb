# frozen_string_literal: true

# The gem's rake tasks, loaded by the Railtie's rake_tasks block (top level: Rake's DSL).
namespace :agent_sdk do
  desc "Resume (or fail as abandoned) running agent sessions whose worker stopped heartbeating, and enqueue " \
       "again pending ones whose job never came (SESSION_CLASS=AgentSession)"
  task recover: :environment do
    taken = RubyLLM::AgentSDK::ActiveJob::RecoveryJob.perform_now(ENV["SESSION_CLASS"].presence)
    puts "agent_sdk:recover: #{taken.map { |outcome, ids| "#{ids.size} #{outcome}" }.join(', ')}"
  end
end
