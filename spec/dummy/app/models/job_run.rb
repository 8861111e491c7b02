# frozen_string_literal: true

# One row per execution of the specs' probe jobs (EchoJob, FlakyJob), written by whichever process ran it.
class JobRun < ApplicationRecord
end
